/* Review queue: tick every row at once, and confirm a bulk action before it is sent. */
(function () {
  "use strict";
  var form = document.getElementById("review-queue-form");
  if (!form) { return; }
  var all = form.querySelector(".review-select-all");
  if (all) {
    all.addEventListener("change", function () {
      form.querySelectorAll('input[name="rowid"]').forEach(function (box) { box.checked = all.checked; });
    });
  }
  form.querySelectorAll("button[data-confirm]").forEach(function (button) {
    button.addEventListener("click", function (event) {
      if (!form.querySelector('input[name="rowid"]:checked')) {
        event.preventDefault();
        window.alert(form.getAttribute("data-none-selected"));
      } else if (!window.confirm(button.getAttribute("data-confirm"))) {
        event.preventDefault();
      }
    });
  });
})();

/* Review queue: tick every row at once, confirm a bulk action before it is sent, and fold the filters
   away on a phone unless some are in use. */
(function () {
  "use strict";
  var fold = document.getElementById("review-filters-fold");
  if (fold && window.matchMedia && window.matchMedia("(max-width: 767.98px)").matches) {
    var active = Array.prototype.some.call(fold.querySelectorAll("input, select"), function (field) {
      return field.name !== "status" && field.value;
    });
    if (!active) { fold.removeAttribute("open"); }
  }
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

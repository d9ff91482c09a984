/* The record page: keyboard shortcuts for the decision bar, comments required before return / reject,
   and photos that enlarge in place. No inline script anywhere: the CSP allows only files from 'self'. */
(function () {
  "use strict";
  var form = document.getElementById("review-decision");
  var comment = document.getElementById("review-comment");
  var pending = null;

  function needsComment(button) {
    return button && button.getAttribute("data-needs-comment") === "1";
  }

  function askForComment(button) {
    pending = button;
    comment.classList.add("is-invalid");
    comment.setAttribute("title", form.getAttribute("data-comment-required"));
    comment.setAttribute("placeholder", form.getAttribute("data-comment-required"));
    comment.rows = 3;
    comment.focus();
  }

  function submitWith(button) {
    if (needsComment(button) && !comment.value.trim()) {
      askForComment(button);
      return;
    }
    if (typeof form.requestSubmit === "function") {
      form.requestSubmit(button);
    } else {
      button.click();
    }
  }

  if (form && comment) {
    form.querySelectorAll("button[type=submit]").forEach(function (button) {
      button.addEventListener("click", function (event) {
        if (needsComment(button) && !comment.value.trim()) {
          event.preventDefault();
          askForComment(button);
        }
      });
    });
    comment.addEventListener("focus", function () { comment.rows = 3; });
    comment.addEventListener("input", function () { comment.classList.remove("is-invalid"); });
    comment.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        var button = pending || form.querySelector("button[data-needs-comment]") || form.querySelector("button");
        submitWith(button);
      } else if (event.key === "Escape") {
        comment.blur();
      }
    });
  }

  function typing(target) {
    var name = target && target.tagName;
    return name === "INPUT" || name === "TEXTAREA" || name === "SELECT" || (target && target.isContentEditable);
  }

  // A record with a warning (or worse) is approved from the keyboard only when A is pressed twice within a few
  // seconds: the first press names the risk, so a stray key cannot pass a warned record unseen.
  var armedButton = null;
  var disarmTimer = null;
  var CONFIRM_WINDOW_MS = 4000;

  function needsSecondKey(button) {
    var prompt = button.getAttribute("data-confirm-key");
    if (!prompt || armedButton === button) { return false; }
    var hint = document.getElementById("review-confirm-hint");
    armedButton = button;
    button.classList.add("review-armed");
    if (hint) {
      hint.textContent = prompt;
      hint.hidden = false;
    }
    window.clearTimeout(disarmTimer);
    disarmTimer = window.setTimeout(function () {
      armedButton = null;
      button.classList.remove("review-armed");
      if (hint) { hint.hidden = true; }
    }, CONFIRM_WINDOW_MS);
    return true;
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    var key = event.key.toLowerCase();
    var link = null;
    if (key === "j" || key === "n") { link = document.getElementById("review-queue-next"); }
    if (key === "k" || key === "p") { link = document.getElementById("review-queue-previous"); }
    if (link) {
      event.preventDefault();
      window.location.assign(link.href);
      return;
    }
    if (!form) { return; }
    var button = form.querySelector('button[data-shortcut="' + key + '"]');
    if (button) {
      event.preventDefault();
      if (needsSecondKey(button)) { return; }
      submitWith(button);
    }
  });

  document.querySelectorAll("img.review-zoomable").forEach(function (image) {
    image.addEventListener("click", function () {
      image.classList.toggle("review-enlarged");
    });
  });
})();

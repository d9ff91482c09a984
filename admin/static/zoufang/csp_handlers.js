/* What Flask-Admin's templates did with inline handlers, done from a static file so the pages run under
   Content-Security-Policy script-src 'self': bulk actions from the "With selected" menu, and "#" or
   javascript: links (menus, filters, disabled pages) that must not navigate. */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a") : null;
    if (!link) { return; }
    var action = link.getAttribute("data-model-action");
    if (action) {
      event.preventDefault();
      if (window.modelActions) { window.modelActions.execute(action); }
      return;
    }
    var href = link.getAttribute("href") || "";
    if (href === "#" || href.indexOf("javascript:") === 0) { event.preventDefault(); }
  }, true);
  /* Flask-Admin's own pagination and tabs still carry javascript:void(0); never let one be followed. */
  document.querySelectorAll('a[href^="javascript:"]').forEach(function (link) { link.setAttribute("href", "#"); });
})();

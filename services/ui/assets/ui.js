// Progressive enhancement only: every page works without this script.
// It moves focus to the error summary, so keyboard and screen-reader users
// land on what went wrong first.
(function () {
  "use strict";
  var summary = document.getElementById("error-summary");
  if (summary) {
    summary.focus();
  }
  // Buttons that run a function of a script the engine's nodes load
  // (WebAuthn triggers: `window.f(<json>)` in the node's `onclick`, which
  // the page's CSP would not run inline): called with the JSON on click.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-trigger]");
    if (!button) {
      return;
    }
    var run = window[button.getAttribute("data-trigger")];
    if (typeof run !== "function") {
      return;
    }
    event.preventDefault();
    run(JSON.parse(button.getAttribute("data-trigger-options")));
  });
})();

// Progressive enhancement only: every page works without this script.
// It moves focus to the error summary, so keyboard and screen-reader users
// land on what went wrong first.
(function () {
  "use strict";
  var summary = document.getElementById("error-summary");
  if (summary) {
    summary.focus();
  }
})();

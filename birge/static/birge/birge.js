/* Progressive enhancement only: every page works without this file. */
(function () {
  "use strict";
  // Move focus to an error summary so screen-reader and keyboard users hear it first.
  // A form sent from a URL ending in a fragment (#main, after the skip link) comes back with that
  // fragment, and the browser would move focus to its target once the page has loaded: drop the
  // fragment from the address, and focus the summary again after load.
  var summary = document.querySelector("[data-error-summary]");
  if (summary) {
    if (window.location.hash && window.history.replaceState) {
      window.history.replaceState(null, "", window.location.pathname + window.location.search);
    }
    summary.focus();
    window.addEventListener("load", function () {
      if (document.activeElement !== summary) { summary.focus(); }
    });
  }
  // Show/hide questions whose visibility depends on an earlier answer (server decides too).
  document.querySelectorAll("[data-shown-if]").forEach(function (el) {
    var rule = el.getAttribute("data-shown-if").split("=");
    var inputs = document.querySelectorAll('[name="' + rule[0] + '"]');
    function update() {
      var value = "";
      inputs.forEach(function (i) { if ((i.type === "radio" && i.checked) || (i.type !== "radio" && i.value)) { value = i.value; } });
      var show = rule[1].split("|").indexOf(value) !== -1;
      el.hidden = !show;
    }
    inputs.forEach(function (i) { i.addEventListener("change", update); });
    update();
  });
})();

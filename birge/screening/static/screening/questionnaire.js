/* Functioning questionnaire: show and hide questions live as answers change.
   Progressive enhancement only: without this file the server shows the questions that follow after
   "Continue" and clears answers of skipped questions. The rules are the questionnaire file's
   ("shown_if"), read the same way as the server's engine: three-valued, reading only answers of
   questions that are themselves shown, a don't-know or refused answer counting as missing. */
(function () {
  "use strict";
  var form = document.querySelector("form[data-questionnaire]");
  if (!form) { return; }
  var missing = (form.getAttribute("data-missing-values") || "").split(" ");
  var questions = Array.prototype.slice.call(form.querySelectorAll("[data-question]"));

  function tri(values, stop) {  // any: stop=true; all: stop=false
    if (values.indexOf(stop) !== -1) { return stop; }
    return values.every(function (v) { return v === !stop; }) ? !stop : null;
  }

  function evaluate(rule, seen) {
    var keys = Object.keys(rule);
    if (keys.length !== 1) { throw new Error("unsupported rule"); }
    var op = keys[0], arg = rule[op], value;
    if (op === "eq" || op === "in") {
      value = Object.prototype.hasOwnProperty.call(seen, arg[0]) ? seen[arg[0]] : null;
      if (value === null) { return null; }
      return op === "eq" ? value === arg[1] : arg[1].indexOf(value) !== -1;
    }
    if (op === "any" || op === "all") {
      return tri(arg.map(function (r) { return evaluate(r, seen); }), op === "any");
    }
    if (op === "not") {
      value = evaluate(arg, seen);
      return value === null ? null : !value;
    }
    throw new Error("unsupported rule");  // the server still decides after "Continue"
  }

  function answer(question) {
    var checked = question.querySelector("input[type=radio]:checked");
    return checked ? checked.value : "";
  }

  function update() {
    var seen = {};
    questions.forEach(function (question) {
      var rule = question.getAttribute("data-question-shown-if");
      var shown = !rule || evaluate(JSON.parse(rule), seen) === true;
      question.hidden = !shown;
      var value = shown ? answer(question) : "";
      if (value && missing.indexOf(value) === -1) { seen[question.getAttribute("data-question")] = value; }
    });
  }

  try {
    update();
  } catch (e) {
    return;  // a rule this script does not know: keep the server's rendering
  }
  form.addEventListener("change", function () {
    try { update(); } catch (e) { /* keep the page as it is */ }
  });
})();

// Trent console: small progressive enhancements. Every page works without this file;
// it is served by Trent itself (the Content-Security-Policy allows only 'self' scripts,
// never inline ones), so nothing here may be inline in the HTML.
(function () {
  "use strict";

  // Destructive actions ask first (the form still posts without script).
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) {
        event.preventDefault();
      }
    });
  });

  // Policy editors: JSON syntax is checked while typing; the server checks the rest.
  function checkJson(area) {
    var out = document.getElementById(area.getAttribute("aria-describedby"));
    if (!out) { return; }
    try {
      JSON.parse(area.value);
      area.removeAttribute("aria-invalid");
      out.textContent = "JSON syntax is valid.";
      out.className = "json-check ok";
    } catch (err) {
      area.setAttribute("aria-invalid", "true");
      out.textContent = "Not valid JSON: " + err.message;
      out.className = "json-check bad";
    }
  }
  document.querySelectorAll("textarea[data-json]").forEach(function (area) {
    area.addEventListener("input", function () { checkJson(area); });
    checkJson(area);
  });

  // "Format JSON" buttons pretty-print the textarea they name.
  document.querySelectorAll("button[data-format]").forEach(function (button) {
    button.addEventListener("click", function () {
      var area = document.getElementById(button.getAttribute("data-format"));
      try {
        area.value = JSON.stringify(JSON.parse(area.value), null, 2);
        checkJson(area);
      } catch (err) {
        checkJson(area);
        area.focus();
      }
    });
  });

  // After a failed action, move focus to the error so keyboard and screen-reader users land on it.
  var error = document.getElementById("error") || document.getElementById("step-error") ||
    document.getElementById("signin-error");
  if (error) {
    error.setAttribute("tabindex", "-1");
    error.focus();
  }
})();

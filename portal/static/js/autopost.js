// Submit the form marked data-autopost once the page has loaded (the Constructor start
// form). An external file because the Content-Security-Policy forbids inline script;
// without JavaScript the form's own button does the same.
(function () {
  "use strict";
  var form = document.querySelector("form[data-autopost]");
  if (!form || form.dataset.submitted) return;
  form.dataset.submitted = "1";
  form.submit();
})();

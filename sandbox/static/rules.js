// The rules page inside the real SDK's rules step: the step waits for "DONE" (or "DENY")
// posted by this frame to the exam page.
(function () {
  "use strict";
  function answer(word, text) {
    window.parent.postMessage(word, "*");
    document.getElementById("rules-status").textContent = text;
  }
  document.getElementById("agree").addEventListener("click", function () {
    answer("DONE", "Accepted. Press Next to continue.");
  });
  document.getElementById("deny").addEventListener("click", function () {
    answer("DENY", "Without accepting the rules the exam cannot start.");
  });
})();

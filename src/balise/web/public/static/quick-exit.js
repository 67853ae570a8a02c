// Quick exit (docs/public-reporting.md): the button, or Esc pressed three times within two
// seconds, replaces this page with the neutral page. location.replace takes the form out of the
// tab's history, so Back does not bring it back. Without JavaScript the button is a plain link.
(function () {
  "use strict";
  var link = document.querySelector("[data-quick-exit]");
  if (!link) return;
  function leave(event) {
    if (event) event.preventDefault();
    document.body.style.visibility = "hidden";
    window.location.replace(link.href);
  }
  link.addEventListener("click", leave);
  var presses = 0;
  var timer = null;
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    presses += 1;
    clearTimeout(timer);
    timer = setTimeout(function () { presses = 0; }, 2000);
    if (presses >= 3) leave();
  });
})();

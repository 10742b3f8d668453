// The Health page re-reads itself every data-refresh-seconds (a static file, not an inline
// script: the Content-Security-Policy allows scripts from this origin only). A hidden tab
// waits until it is shown again.
(function () {
  "use strict";
  var holder = document.querySelector("[data-refresh-seconds]");
  if (!holder) return;
  var seconds = parseInt(holder.getAttribute("data-refresh-seconds"), 10);
  if (!(seconds > 0)) return;
  setTimeout(function () {
    if (!document.hidden) location.reload();
    else document.addEventListener("visibilitychange", function () { location.reload(); }, { once: true });
  }, seconds * 1000);
})();

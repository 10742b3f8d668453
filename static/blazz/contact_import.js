// A contact import's page follows its progress: each committed batch publishes
// `contacts.import`, and the page re-reads its [data-swap] region from the server.
(function () {
  "use strict";
  var root = document.querySelector("[data-contact-import]");
  if (!root) return;
  var uuid = root.getAttribute("data-contact-import");
  var timer = null;
  function refresh() {
    clearTimeout(timer);
    timer = setTimeout(function () { BlazzLive.swapRegions({}); }, 200);
  }
  BlazzLive.connect()
    .on("contacts.import", function (event, p) { if (p && p.uuid === uuid) refresh(); })
    .onReconnect(refresh);
})();

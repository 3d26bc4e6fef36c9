// GoShop admin dashboard: when an order or stock event arrives on the live socket that live.js keeps
// open, fetch this page again and swap in its figures and charts. The page is complete
// without this script; reloading it does the same by hand. Nothing here builds HTML from strings:
// the fresh figures are nodes parsed from the server's own page.
(function () {
  "use strict";
  if (!window.fetch || !window.DOMParser) return;
  var timer = null, busy = false, again = false;

  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(location.href, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.text() : ""; })
      .then(function (html) {
        var now = document.getElementById("dashboard");
        if (!html || !now) return;
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("dashboard");
        if (!fresh) return;
        // Keep the day table open if the admin opened it.
        var open = now.querySelector("details[open]");
        var next = document.importNode(fresh, true);
        if (open && next.querySelector("details")) next.querySelector("details").open = true;
        now.replaceWith(next);
        var note = document.getElementById("dash-updated");
        if (note) note.textContent = "Updated at " + new Date().toLocaleTimeString() + " after live order or stock events. Days are UTC.";
      })
      .catch(function () { /* the figures stay as they were; a reload shows the latest */ })
      .then(function () {
        busy = false;
        if (again) { again = false; schedule(); }
      });
  }

  // Events come in bursts (order.created, inventory's holds, order.confirmed): one fetch per burst.
  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 400);
  }

  document.addEventListener("goshop:live", function (ev) {
    var type = ev.detail && ev.detail.type;
    if (typeof type === "string" && (type.indexOf("order.") === 0 || type.indexOf("inventory.") === 0)) schedule();
  });
})();

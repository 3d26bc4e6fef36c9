// GoShop live layer. The pages work without it; this script only adds live order status, live stock
// badges, toasts and a connection indicator, over the realtime service's WebSocket at the gateway.
// It never uses innerHTML: everything shown is set with textContent.
(function () {
  "use strict";
  // Product photos come from other hosts; one that fails to load is hidden so the lettered
  // placeholder underneath shows instead of a broken-image icon.
  document.querySelectorAll("img[data-fallback]").forEach(function (img) {
    var hide = function () { img.hidden = true; };
    if (img.complete && img.naturalWidth === 0) hide();
    else img.addEventListener("error", hide);
  });

  var body = document.body;
  if (!body || !window.GoshopRealtime || !("WebSocket" in window) || !window.fetch) return;

  var signedIn = body.getAttribute("data-signed-in") === "true";
  var watchesStock = document.querySelector("[data-stock-sku]") !== null;
  // Signed out, there is nothing personal to hear; connect only when the page shows stock.
  if (!signedIn && !watchesStock) return;

  var indicator = document.getElementById("live-status");
  var toasts = document.getElementById("toasts");
  var everConnected = false, rt = null;
  var heard = {}; // order IDs an event has updated: newer than any copy of the page

  function setState(state, text) {
    if (!indicator || !everConnected) return;
    indicator.hidden = false;
    indicator.setAttribute("data-state", state);
    indicator.textContent = text;
  }

  function toast(text) {
    if (!toasts) return;
    var el = document.createElement("div");
    el.className = "toast";
    el.setAttribute("role", "status");
    el.textContent = text;
    toasts.appendChild(el);
    setTimeout(function () { el.remove(); }, 6000);
    while (toasts.children.length > 4) toasts.firstChild.remove();
  }

  function pulse(el) {
    el.classList.remove("flash-update");
    void el.offsetWidth;
    el.classList.add("flash-update");
  }

  function short(id) { return String(id || "").slice(0, 8); }
  function title(s) { s = String(s || ""); return s.charAt(0).toUpperCase() + s.slice(1); }

  function onOrder(msg) {
    var d = msg.data || {};
    var id = d.order_id, status = d.status || msg.type.replace("order.", "");
    if (!id) return;
    heard[id] = true;
    var changed = false;
    document.querySelectorAll('[data-order-status="' + CSS.escape(id) + '"]').forEach(function (el) {
      if (el.textContent.toLowerCase() === status) return;
      el.textContent = title(status);
      el.className = "status status-" + status;
      pulse(el);
      changed = true;
    });
    // A note written for the old status ("Paid. We will ship it soon.") would now contradict the badge.
    if (changed) {
      document.querySelectorAll('[data-order-note="' + CSS.escape(id) + '"]').forEach(function (el) {
        el.className = "notice";
        el.textContent = "This order is now " + status + ".";
      });
    }
    if (msg.type === "order.created" && document.getElementById("admin-orders")) {
      toast("New order #" + short(id) + ": reload to see it.");
      return;
    }
    toast("Order #" + short(id) + " is now " + status + (d.reason ? " (" + d.reason + ")" : "") + ".");
    // The order page shows a pay or cancel form that depends on the status: fetch the fresh page.
    if (changed && (document.querySelector('[data-order-waiting="' + CSS.escape(id) + '"]') ||
        document.querySelector('[data-pay-form="' + CSS.escape(id) + '"]'))) {
      setTimeout(function () { location.reload(); }, 600);
    }
  }

  function onStock(msg) {
    var d = msg.data || {};
    if (!d.sku || typeof d.available !== "number") return;
    var sel = CSS.escape(d.sku);
    document.querySelectorAll('[data-stock-sku="' + sel + '"]').forEach(function (el) {
      var n = d.available, threshold = d.low_stock_threshold || 5;
      el.hidden = false;
      el.className = "badge " + (n <= 0 ? "badge-out" : n <= threshold ? "badge-low" : "badge-ok");
      el.textContent = n <= 0 ? "Out of stock" : n <= threshold ? "Only " + n + " left" : "In stock";
      pulse(el);
    });
    document.querySelectorAll('[data-stock-available="' + sel + '"]').forEach(function (el) {
      el.textContent = String(d.available);
      pulse(el);
    });
    if (msg.type === "inventory.low_stock" && location.pathname.indexOf("/admin") === 0) {
      toast("Low stock: " + d.sku + " has " + d.available + " left.");
    }
  }

  // The bell: realtime sends a "notification" after each event that makes one. Admins' sockets hear
  // every user's, so count only this user's, the admins' list on an admin's page, and announcements;
  // once each (a resumed socket may hear one again).
  var bellEl = document.getElementById("bell"), counted = {};
  function onNotification(msg) {
    var d = msg.data || {};
    if (!bellEl || !d.id || counted[d.id]) return;
    var mine = (d.audience === "user" && d.user_id === bellEl.getAttribute("data-bell-user")) ||
      (d.audience === "admins" && bellEl.getAttribute("data-bell-admin") === "true") || d.audience === "all";
    if (!mine) return;
    counted[d.id] = true;
    if (bellEl.getAttribute("data-bell-known") === "true") {
      var count = document.getElementById("bell-count"), label = document.getElementById("bell-label");
      var n = (parseInt(count.textContent, 10) || 0) + 1;
      count.textContent = String(n);
      count.hidden = false;
      label.textContent = "Notifications, " + n + " unread";
      pulse(count);
    }
    // Order events already toast; announcements have no other message that shows them.
    if (d.audience === "all") toast(String(d.body || d.title || ""));
  }

  function onMessage(msg) {
    if (!msg || typeof msg.type !== "string") return;
    // Page scripts (the admin dashboard's) listen for this instead of opening a socket of their own.
    document.dispatchEvent(new CustomEvent("goshop:live", { detail: msg }));
    if (msg.type.indexOf("order.") === 0) onOrder(msg);
    else if (msg.type === "inventory.updated" || msg.type === "inventory.low_stock") onStock(msg);
    else if (msg.type === "notification") onNotification(msg);
  }

  // A new connection hears only what happens from now on, and the saga confirms an order within
  // milliseconds of placing it: often before this page's socket is open, which left the order page
  // saying "pending" for good. So, once first connected, compare the order badges with a fresh copy
  // of this page and apply any difference as if it had arrived as an event.
  function catchUp() {
    var badges = document.querySelectorAll("[data-order-status]");
    if (!badges.length || !window.DOMParser) return;
    fetch(location.href, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.text() : ""; })
      .then(function (html) {
        if (!html) return;
        var fresh = new DOMParser().parseFromString(html, "text/html");
        badges.forEach(function (el) {
          var id = el.getAttribute("data-order-status");
          if (heard[id]) return; // an event got here first, and it is newer than this copy
          var now = fresh.querySelector('[data-order-status="' + CSS.escape(id) + '"]');
          var status = now ? now.textContent.trim().toLowerCase() : "";
          if (status && el.textContent.trim().toLowerCase() !== status) {
            onOrder({ type: "order." + status, data: { order_id: id, status: status } });
          }
        });
      })
      .catch(function () { /* the page stays as rendered */ });
  }

  // The socket itself is static/realtime.js (the realtime service's client): reconnect with backoff
  // and jitter, resume by seq and epoch. It connects to /realtime/ws on this origin, which the
  // storefront forwards to the gateway with the session's access token, so no token is handled here.
  rt = window.GoshopRealtime.connect({
    onMessage: onMessage,
    // Messages were missed (a realtime restart, or away too long): re-read what the page shows.
    onResync: catchUp,
    onState: function (state) {
      if (state === "open") {
        var first = !everConnected;
        everConnected = true;
        setState("connected", "Live");
        if (first) catchUp();
      }
    },
    onRetry: function (n) {
      // Realtime absent (never reached): stay silent rather than show a broken indicator.
      if (!everConnected && n >= 3) { rt.close(); return; }
      setState(n > 6 ? "offline" : "reconnecting", n > 6 ? "Offline" : "Reconnecting…");
    },
  });
  window.addEventListener("offline", function () { setState("offline", "Offline"); });
})();

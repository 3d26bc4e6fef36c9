// goshop realtime client: a dependency-free WebSocket client for GET /realtime/ws.
//
//   <script src="/static/realtime.js"></script>     (served by the storefront)
//   const rt = GoshopRealtime.connect({
//     onMessage: (m) => console.log(m.seq, m.type, m.data),   // {"seq","type","data","occurred_at"}
//     onState: (s) => console.log(s),  // "connecting" | "open" | "reconnecting" | "closed"
//     onResync: () => location.reload(),  // missed messages are gone: reload state
//     onRetry: (n, ms) => {},  // before each reconnect: failures in a row so far, delay in ms
//   });
//   rt.close();
//
// It reconnects with exponential backoff and full jitter (0.5 s doubling to 30 s, reset once a
// connection has stayed open 10 s), and resumes with ?since=<last seq>&epoch=<server epoch> so nothing
// is missed while the server still buffers it. Identity comes from the session cookie (same origin
// through the gateway) or opts.token (sent as ?access_token=; a string, or a function called at every
// connect, possibly returning a promise, so a reconnect after 15 min does not reuse an expired token).
(function (root) {
  "use strict";

  // backoffDelay returns the wait before reconnect attempt n (0-based): a random value in
  // [0, min(max, base * 2^n)] ("full jitter"), so a server restart does not bring every browser back at
  // the same instant.
  function backoffDelay(n, base, max, random) {
    var cap = Math.min(max, base * Math.pow(2, Math.min(n, 30)));
    return Math.floor((random || Math.random)() * cap);
  }

  function defaultURL() {
    var l = root.location;
    if (!l) return "ws://127.0.0.1:3009/ws";
    var scheme = l.protocol === "https:" ? "wss:" : "ws:";
    // The storefront (and the gateway) serve the socket at /realtime/ws on their own origin.
    return scheme + "//" + l.host + "/realtime/ws";
  }

  function connect(opts) {
    opts = opts || {};
    var url = opts.url || defaultURL();
    var base = opts.backoffBase || 500;
    var max = opts.backoffMax || 30000;
    var stableAfter = opts.stableAfter || 10000;
    var noop = function () {};
    var onMessage = opts.onMessage || noop;
    var onState = opts.onState || noop;
    var onResync = opts.onResync || noop;
    var onRetry = opts.onRetry || noop;
    var WS = opts.WebSocket || root.WebSocket;
    var timers = opts.timers || root;

    var lastSeq = 0;
    var epoch = "";
    var attempt = 0;
    var ws = null;
    var closed = false;
    var retryTimer = null;
    var stableTimer = null;
    var state = "";

    function setState(s) {
      if (s !== state) {
        state = s;
        onState(s);
      }
    }

    function buildURL(token) {
      var q = [];
      if (token) q.push("access_token=" + encodeURIComponent(token));
      if (lastSeq > 0 || epoch) {
        q.push("since=" + lastSeq);
        if (epoch) q.push("epoch=" + encodeURIComponent(epoch));
      }
      if (!q.length) return url;
      return url + (url.indexOf("?") < 0 ? "?" : "&") + q.join("&");
    }

    function open() {
      retryTimer = null;
      setState(attempt === 0 ? "connecting" : "reconnecting");
      // token may be a string, a function, or a function returning a promise (e.g. a fetch of a
      // fresh token): called at every connect, as access tokens live 15 min.
      var t = typeof opts.token === "function" ? opts.token() : opts.token;
      if (t && typeof t.then === "function") {
        t.then(function (v) { if (!closed) dial(v); }, function () { if (!closed) schedule(); });
      } else {
        dial(t);
      }
    }

    function dial(token) {
      try {
        ws = new WS(buildURL(token));
      } catch (e) {
        schedule();
        return;
      }
      ws.onopen = function () {
        setState("open");
        stableTimer = timers.setTimeout(function () { attempt = 0; }, stableAfter);
      };
      ws.onmessage = function (ev) {
        var m;
        try { m = JSON.parse(ev.data); } catch (e) { return; }
        if (m.type === "hello") {
          if (epoch && m.data && m.data.epoch !== epoch) lastSeq = 0; // a new server epoch: old seqs are void
          epoch = (m.data && m.data.epoch) || "";
          if (!lastSeq && m.data && m.data.seq) lastSeq = m.data.seq; // start from "now"
          return;
        }
        if (m.type === "resync") {
          lastSeq = m.seq || 0;
          onResync(m);
          return;
        }
        if (m.seq && m.seq <= lastSeq) return; // duplicate after a resume
        if (m.seq) lastSeq = m.seq;
        onMessage(m);
      };
      ws.onclose = function () {
        if (stableTimer) timers.clearTimeout(stableTimer);
        ws = null;
        if (closed) {
          setState("closed");
          return;
        }
        schedule();
      };
      ws.onerror = function () { /* onclose follows */ };
    }

    function schedule() {
      setState("reconnecting");
      var d = backoffDelay(attempt, base, max);
      attempt++;
      retryTimer = timers.setTimeout(open, d);
      onRetry(attempt, d);
    }

    open();
    return {
      close: function () {
        closed = true;
        if (retryTimer) timers.clearTimeout(retryTimer);
        if (ws) ws.close(1000, "bye");
        else setState("closed");
      },
      lastSeq: function () { return lastSeq; },
      state: function () { return state; },
    };
  }

  var api = { connect: connect, backoffDelay: backoffDelay };
  if (typeof module === "object" && module.exports) module.exports = api;
  else root.GoshopRealtime = api;
})(typeof window !== "undefined" ? window : this);

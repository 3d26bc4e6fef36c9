// Run by TestRealtimeClientJS: node testdata/realtime_client_test.js static/realtime.js
// Exercises reconnect, backoff bounds and resume with fake WebSocket and fake timers.
"use strict";
const assert = require("assert");
const rt = require(require("path").resolve(process.argv[2]));

// backoffDelay: full jitter within [0, min(max, base*2^n)].
for (let n = 0; n < 40; n++) {
  const cap = Math.min(30000, 500 * 2 ** n);
  assert.strictEqual(rt.backoffDelay(n, 500, 30000, () => 0), 0);
  const hi = rt.backoffDelay(n, 500, 30000, () => 0.999999);
  assert.ok(hi <= cap && hi >= cap - 1, `n=${n}: ${hi} vs cap ${cap}`);
}

// Fake timers: a queue run by hand.
let timers = [];
const fakeTimers = {
  setTimeout(fn, d) { const t = { fn, d }; timers.push(t); return t; },
  clearTimeout(t) { timers = timers.filter((x) => x !== t); },
};
function runNextTimer() { const t = timers.shift(); t.fn(); return t.d; }

const sockets = [];
class FakeWS {
  constructor(url) { this.url = url; sockets.push(this); }
  close() { this.onclose && this.onclose({ code: 1000 }); }
}

const got = [];
const states = [];
const retries = [];
let resyncs = 0;
const c = rt.connect({
  url: "ws://x/ws", WebSocket: FakeWS, timers: fakeTimers,
  onMessage: (m) => got.push(m.seq), onState: (s) => states.push(s), onResync: () => resyncs++,
  onRetry: (n, ms) => retries.push([n, ms]),
});
assert.strictEqual(sockets[0].url, "ws://x/ws");
let ws = sockets[0];
ws.onopen();
ws.onmessage({ data: JSON.stringify({ seq: 0, type: "hello", data: { epoch: "E1", seq: 3 } }) });
ws.onmessage({ data: JSON.stringify({ seq: 4, type: "order.confirmed", data: {} }) });
ws.onmessage({ data: JSON.stringify({ seq: 4, type: "order.confirmed", data: {} }) }); // duplicate
ws.onmessage({ data: JSON.stringify({ seq: 6, type: "order.paid", data: {} }) });
assert.deepStrictEqual(got, [4, 6]);

// Drop: reconnect after a jittered delay, resuming from seq 6 of epoch E1.
timers = timers.filter((t) => t.d !== 10000); // forget the "stable" timer as if it never fired
ws.onclose({ code: 1006 });
assert.strictEqual(states[states.length - 1], "reconnecting");
let d = runNextTimer();
assert.ok(d >= 0 && d <= 500, `first retry delay ${d}`);
assert.strictEqual(sockets[1].url, "ws://x/ws?since=6&epoch=E1");

// Failing reconnects back off up to the cap.
let prevCap = 500;
for (let i = 0; i < 12; i++) {
  sockets[sockets.length - 1].onclose({ code: 1006 });
  d = runNextTimer();
  prevCap = Math.min(30000, prevCap * 2);
  assert.ok(d <= prevCap, `retry ${i}: delay ${d} over cap ${prevCap}`);
}
assert.ok(d <= 30000);
// onRetry saw every scheduled reconnect, counting failures in a row, with the delay used.
assert.strictEqual(retries.length, 13);
assert.deepStrictEqual(retries.map((r) => r[0]), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
assert.strictEqual(retries[12][1], d);

// A server with a new epoch sends resync: the client takes the new seq and tells the app.
ws = sockets[sockets.length - 1];
ws.onopen();
ws.onmessage({ data: JSON.stringify({ seq: 0, type: "hello", data: { epoch: "E2", seq: 2 } }) });
ws.onmessage({ data: JSON.stringify({ seq: 2, type: "resync", data: {} }) });
assert.strictEqual(resyncs, 1);
ws.onmessage({ data: JSON.stringify({ seq: 3, type: "order.shipped", data: {} }) });
assert.deepStrictEqual(got, [4, 6, 3]);
assert.strictEqual(c.lastSeq(), 3);

// Once open for 10 s the backoff resets.
const stable = timers.find((t) => t.d === 10000);
assert.ok(stable, "no stability timer");
fakeTimers.clearTimeout(stable); stable.fn();
ws.onclose({ code: 1001 });
d = runNextTimer();
assert.ok(d <= 500, `after a stable connection the delay ${d} should restart at the base`);

c.close();
assert.strictEqual(c.state(), "closed");

// A token function is called at every connect.
let n = 0;
const c2 = rt.connect({ url: "ws://x/ws", WebSocket: FakeWS, timers: fakeTimers, token: () => "t" + (++n) });
assert.strictEqual(sockets[sockets.length - 1].url, "ws://x/ws?access_token=t1");
sockets[sockets.length - 1].onclose({ code: 1006 });
runNextTimer();
assert.strictEqual(sockets[sockets.length - 1].url, "ws://x/ws?access_token=t2");
c2.close();
assert.strictEqual(timers.length, 0, "close must cancel the pending retry");
// A token function may return a promise.
const c3 = rt.connect({ url: "ws://x/ws", WebSocket: FakeWS, timers: fakeTimers, token: () => Promise.resolve("p1") });
const before = sockets.length;
setImmediate(() => {
  assert.strictEqual(sockets.length, before + 1, "no socket after the token promise resolved");
  assert.strictEqual(sockets[sockets.length - 1].url, "ws://x/ws?access_token=p1");
  c3.close();
  console.log("ok");
});

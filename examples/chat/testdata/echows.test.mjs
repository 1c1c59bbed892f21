// Unit tests of static/echows.js against a fake WebSocket, run by
// TestClientLibraryWithNode (node --test). The browser tests cover the real
// socket; these cover the state machine: backoff, fatal closes, the queue.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';

// echows.js has no imports, so it loads from a data: URL whatever the
// package type of its directory.
const source = await readFile(new URL('../static/echows.js', import.meta.url), 'utf8');
const { EchowsClient, EchowsError } = await import('data:text/javascript;base64,' + Buffer.from(source).toString('base64'));

// FakeSocket records what the client sends; the test plays the server.
class FakeSocket {
  static created = [];
  static waiting = [];
  constructor(url) {
    this.url = url;
    this.readyState = 0;
    this.sent = [];
    this.waiters = [];
    FakeSocket.created.push(this);
    FakeSocket.waiting.splice(0).forEach((resolve) => resolve(this));
  }
  static next() { // the next socket the client opens
    return new Promise((resolve) => FakeSocket.waiting.push(resolve));
  }
  send(text) {
    const msg = JSON.parse(text);
    this.sent.push(msg);
    this.waiters = this.waiters.filter((w) => !(w.event === msg.event && (w.resolve(msg), true)));
  }
  sentEvent(event) { // resolves when the client sends event (or has sent it)
    const msg = this.sent.find((m) => m.event === event);
    return msg ? Promise.resolve(msg) : new Promise((resolve) => this.waiters.push({ event, resolve }));
  }
  close(code = 1000, reason = '') { this.serverClose(code, reason); }
  open() { this.readyState = 1; this.onopen?.(); }
  receive(event, data) { this.onmessage?.({ data: JSON.stringify({ event, data }) }); }
  serverClose(code, reason = '') {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }
}

const fast = { minDelay: 1, maxDelay: 4, factor: 2, jitter: 0 };

function newClient(options = {}) {
  return new EchowsClient({ url: 'ws://test/ws', credentials: { name: 'ada' }, WebSocket: FakeSocket, reconnect: fast, ...options });
}

// accept plays a server that accepts the client on socket ws.
async function accept(ws, id = 'c1') {
  ws.open();
  const auth = await ws.sentEvent('authenticate');
  ws.receive('connected', { id, userId: auth.data.name, time: '2026-01-01T00:00:00.000Z' });
  return auth;
}

test('authenticates on open, resolves connect, sends heartbeats', async () => {
  const c = newClient({ credentials: async () => ({ name: 'grace' }), heartbeatInterval: 1 });
  const states = [];
  c.on('state', (s) => states.push(s));
  const socket = FakeSocket.next();
  const ready = c.connect();
  const ws = await socket;
  const auth = await accept(ws);
  assert.deepEqual(auth, { event: 'authenticate', data: { name: 'grace' } });
  assert.deepEqual(await ready, { id: 'c1', userId: 'grace', time: '2026-01-01T00:00:00.000Z' });
  assert.equal(c.id, 'c1');
  assert.deepEqual(await ws.sentEvent('heartbeat'), { event: 'heartbeat' });
  assert.deepEqual(states, ['connecting', 'authenticating', 'open']);
  c.close();
  assert.equal(c.state, 'closed');
});

test('reconnects with backoff, re-authenticates, re-joins, then flushes the queue', async () => {
  const c = newClient();
  const delays = [];
  c.on('close', (e) => delays.push(e.delay));
  let socket = FakeSocket.next();
  c.connect();
  const first = await socket;
  await accept(first);
  c.join(['a', 'b']);
  c.leave('b');
  assert.deepEqual(first.sent.filter((m) => m.event !== 'heartbeat').slice(1),
    [{ event: 'join', data: { rooms: ['a', 'b'] } }, { event: 'leave', data: { rooms: ['b'] } }]);

  // The connection drops, and the next three attempts fail.
  socket = FakeSocket.next();
  first.serverClose(1006);
  for (let i = 0; i < 3; i++) {
    const ws = await socket;
    socket = FakeSocket.next();
    ws.serverClose(1006);
  }
  assert.deepEqual(delays, [1, 2, 4, 4]); // min 1, factor 2, max 4, no jitter
  assert.equal(c.state, 'reconnecting');
  assert.equal(c.send('chat', { text: 'while away' }), false);

  const ws = await socket;
  await accept(ws, 'c2');
  assert.equal(c.id, 'c2');
  assert.deepEqual(ws.sent.slice(0, 3).map((m) => m.event), ['authenticate', 'join', 'chat']);
  assert.deepEqual(ws.sent[1].data, { rooms: ['a'] });
  assert.equal(c.send('chat', { text: 'now' }), true);
  c.close();
});

for (const code of [4003, 4004]) {
  test(`stops after ${code} with the server's error`, async () => {
    const c = newClient();
    const socket = FakeSocket.next();
    const ready = c.connect();
    const ws = await socket;
    ws.open();
    await ws.sentEvent('authenticate');
    const before = FakeSocket.created.length;
    ws.receive('error', { message: 'Authentication failed' });
    ws.serverClose(code, 'Authentication failed');
    await assert.rejects(ready, (err) => err instanceof EchowsError && err.code === code && err.message === 'Authentication failed');
    assert.equal(c.state, 'closed');
    assert.equal(FakeSocket.created.length, before); // no retry
    assert.throws(() => c.send('chat', {}), EchowsError);
  });
}

test('the queue is bounded; system events are refused', () => {
  const c = newClient({ queueLimit: 2 });
  assert.equal(c.send('a'), false); // before connect(): queued
  assert.equal(c.send('b'), false);
  assert.throws(() => c.send('c'), /already wait/);
  assert.throws(() => c.send('join', {}), TypeError);
  assert.throws(() => c.send(''), TypeError);
  c.close();
  assert.throws(() => c.send('a'), EchowsError);
});

test('close() before connected rejects connect and stops retrying', async () => {
  const c = newClient();
  const socket = FakeSocket.next();
  const ready = c.connect();
  await socket;
  c.close();
  await assert.rejects(ready, EchowsError);
  assert.equal(c.state, 'closed');
});

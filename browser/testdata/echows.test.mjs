// Unit tests of ../echows.js against a fake WebSocket, run by
// TestScriptWithNode (node --test). The browser tests
// (examples/browserclient) cover real sockets in Chromium against a real
// server; these cover the state machine: backoff, the close policy, the
// queue, and that README.md and echows.d.ts describe what the code does.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import * as echows from '../echows.js';

const { EchowsClient, EchowsError, State, Pace, closePolicy } = echows;

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

// Every client a test makes is closed after it, and sockets no test took
// are forgotten, so a test that fails half way does not leave a client
// reconnecting into the next test's sockets (or keep node from exiting).
const clients = new Set();
afterEach(() => {
  clients.forEach((c) => c.close());
  clients.clear();
  FakeSocket.waiting.length = 0;
});

function newClient(options = {}) {
  const c = new EchowsClient({ url: 'ws://test/ws', credentials: { name: 'ada' }, WebSocket: FakeSocket, reconnect: fast, ...options });
  clients.add(c);
  return c;
}

// accept plays a server that accepts the client on socket ws.
async function accept(ws, id = 'c1') {
  ws.open();
  const auth = await ws.sentEvent('authenticate');
  ws.receive('connected', { id, userId: auth.data.name, time: '2026-01-01T00:00:00.000Z' });
  return auth;
}

// connected returns a client accepted on its first socket, and that socket.
async function connected(options) {
  const c = newClient(options);
  const socket = FakeSocket.next();
  const ready = c.connect();
  const ws = await socket;
  await accept(ws);
  await ready;
  return { c, ws };
}

// authenticating returns a client that opened its first socket and sent
// authenticate, the socket, and its connect() promise.
async function authenticating(options) {
  const c = newClient(options);
  const socket = FakeSocket.next();
  const ready = c.connect();
  const ws = await socket;
  ws.open();
  await ws.sentEvent('authenticate');
  return { c, ws, ready };
}

// closeOnce closes ws with code (after an error event when error is set)
// and returns the client's close event.
function closeOnce(c, ws, code, { reason = '', error = '' } = {}) {
  const closed = new Promise((resolve) => c.once('close', resolve));
  if (error) ws.receive('error', { message: error });
  ws.serverClose(code, reason);
  return closed;
}

test('authenticates on open, resolves connect, sends heartbeats', async () => {
  const c = newClient({ credentials: async () => ({ name: 'grace' }), heartbeatInterval: 1 });
  const states = [];
  c.on('state', (s, previous, text) => states.push([s, text]));
  assert.equal(c.statusText, 'Not connected');
  const socket = FakeSocket.next();
  const ready = c.connect();
  const ws = await socket;
  const auth = await accept(ws);
  assert.deepEqual(auth, { event: 'authenticate', data: { name: 'grace' } });
  assert.deepEqual(await ready, { id: 'c1', userId: 'grace', time: '2026-01-01T00:00:00.000Z' });
  assert.equal(c.id, 'c1');
  assert.deepEqual(await ws.sentEvent('heartbeat'), { event: 'heartbeat' });
  assert.deepEqual(states, [['connecting', 'Connecting'], ['authenticating', 'Authenticating'], ['open', 'Connected']]);
  c.close();
  assert.equal(c.state, 'closed');
  assert.equal(c.statusText, 'Disconnected');
});

test('reconnects with backoff, re-authenticates, re-joins, then flushes the queue', async () => {
  const c = newClient();
  const closes = [];
  c.on('close', (e) => closes.push(e));
  let socket = FakeSocket.next();
  c.connect();
  const first = await socket;
  await accept(first);
  c.join(['a', 'b']);
  c.leave('b');
  assert.deepEqual(first.sent.slice(1),
    [{ event: 'join', data: { rooms: ['a', 'b'] } }, { event: 'leave', data: { rooms: ['b'] } }]);

  // The connection drops, and the next three attempts fail.
  socket = FakeSocket.next();
  const before = Date.now();
  first.serverClose(1006);
  const after = Date.now();
  assert.equal(c.state, 'reconnecting');
  assert.equal(c.statusText, 'The connection was lost');
  // Scheduled 1 ms (minDelay, no jitter) after the close, whenever the clock
  // read it: a stalled machine may move Date.now() on by several ms.
  assert.ok(c.retryAt >= before + 1 && c.retryAt <= after + 1 && c.retryIn <= 1,
    `retryAt ${c.retryAt} (close between ${before} and ${after}), retryIn ${c.retryIn}`);
  for (let i = 0; i < 3; i++) {
    const ws = await socket;
    assert.equal(c.retryAt, null); // attempting: nothing scheduled
    socket = FakeSocket.next();
    ws.serverClose(1006); // never opened: the server is unreachable
  }
  assert.deepEqual(closes.map((e) => e.delay), [1, 2, 4, 4]); // min 1, factor 2, max 4, no jitter
  assert.deepEqual(closes.map((e) => e.message), ['The connection was lost', ...Array(3).fill('Cannot reach the server')]);
  assert.ok(closes.every((e) => e.code === 1006 && e.reconnect));
  assert.equal(c.statusText, 'Cannot reach the server');

  const queued = [];
  c.on('queue', (pending, change) => queued.push([pending.map((m) => m.data.text), change]));
  assert.equal(c.send('chat', { text: 'while away' }), false);
  assert.equal(c.pending.length, 1);
  const entry = c.pending[0];
  assert.deepEqual([entry.event, entry.data], ['chat', { text: 'while away' }]);
  assert.ok(Object.isFrozen(entry) && entry.queuedAt > 0);

  const ws = await socket;
  await accept(ws, 'c2');
  assert.equal(c.id, 'c2');
  assert.deepEqual(ws.sent.slice(0, 3).map((m) => m.event), ['authenticate', 'join', 'chat']);
  assert.deepEqual(ws.sent[1].data, { rooms: ['a'] });
  assert.deepEqual(ws.sent[2], { event: 'chat', data: { text: 'while away' } });
  assert.deepEqual(queued, [
    [['while away'], { added: [entry], sent: [], dropped: [] }],
    [[], { added: [], sent: [entry], dropped: [] }],
  ]);
  assert.deepEqual(c.pending, []);
  assert.equal(c.send('chat', { text: 'now' }), true);
  c.close();
});

for (const [code, error, message] of [
  [4003, 'Authentication failed', 'Authentication failed: the server refused the credentials'],
  [4004, 'Encryption handshake failed', 'The server requires encryption, which this client does not support'],
  [1008, 'Too many connections', 'Too many connections for this user: close another tab or window, then connect again'],
]) {
  test(`stops after ${code} (${error}), drops the queue, says why`, async () => {
    const { c, ws, ready } = await authenticating();
    c.send('chat', { text: 'never sent' });
    const dropped = new Promise((resolve) => c.once('queue', (pending, change) => resolve(change.dropped)));
    const before = FakeSocket.created.length;
    const closed = await closeOnce(c, ws, code, { reason: code === 1008 ? 'Too many connections' : 'whatever', error });
    assert.deepEqual(closed, { code, reason: code === 1008 ? 'Too many connections' : 'whatever', error, message, reconnect: false, delay: null, retryAt: null });
    await assert.rejects(ready, (err) => err instanceof EchowsError && err.code === code && err.message === message && err.error === error);
    assert.equal(c.state, 'closed');
    assert.equal(c.statusText, message);
    assert.equal(c.retryAt, null);
    assert.equal(c.retry(), false);
    assert.equal(FakeSocket.created.length, before); // no retry
    assert.deepEqual((await dropped).map((m) => m.data.text), ['never sent']);
    assert.throws(() => c.send('chat', {}), EchowsError);
  });
}

test('4003 after "Authentication error" reconnects: the server failed, not the credentials', async () => {
  const { c, ws } = await authenticating();
  const next = FakeSocket.next();
  const closed = await closeOnce(c, ws, 4003, { reason: 'Authentication failed', error: 'Authentication error' });
  assert.equal(closed.reconnect, true);
  assert.equal(closed.message, 'The server could not check the credentials');
  await accept(await next);
  assert.equal(c.state, 'open');
  c.close();
});

test('paces: 1001 soon, 1013 later, 4001/4002/1009 with the backoff; an error event of an earlier connection explains nothing', async () => {
  const pacing = { minDelay: 8, maxDelay: 1000, factor: 2, jitter: 0 };
  const { c, ws } = await connected({ reconnect: pacing });
  let socket = FakeSocket.next();
  const away = await closeOnce(c, ws, 1001, { reason: 'Server shutting down' });
  assert.ok(away.reconnect && away.delay >= 0 && away.delay < 8, `1001 delay ${away.delay}`); // the backoff would say 8
  assert.equal(away.message, 'The server is restarting');

  let next = await socket;
  next.open();
  await next.sentEvent('authenticate');
  next.receive('error', { message: 'Authentication error' }); // this connection's error...
  next.receive('connected', { id: 'c2', time: '' });
  assert.equal(c.userId, null);
  socket = FakeSocket.next();
  const busy = await closeOnce(c, next, 1013, { reason: 'Backpressure limit exceeded' });
  assert.deepEqual([busy.delay, busy.message], [32, 'The server is busy']); // 8 × 2^2

  for (const [code, message] of [
    [4001, 'Authentication took too long'],
    [4002, 'The server heard nothing from this client for too long'],
    [1009, 'A message was larger than the server accepts and was not delivered'],
  ]) {
    next = await socket;
    await accept(next);
    socket = FakeSocket.next();
    const e = await closeOnce(c, next, code); // ...is forgotten on the next connection
    assert.deepEqual([e.code, e.reconnect, e.delay, e.message], [code, true, 8, message]);
  }
  c.close();
});

test('1009 before authentication stops: the credentials are too big', async () => {
  const { c, ws, ready } = await authenticating();
  const e = await closeOnce(c, ws, 1009, { reason: 'Message too big' });
  assert.deepEqual([e.reconnect, e.message], [false, 'The credentials are larger than the server accepts']);
  await assert.rejects(ready, EchowsError);
});

test('credentials that fail are retried, and say why', async () => {
  let calls = 0;
  const c = newClient({ credentials: () => { if (calls++ === 0) throw new Error('token expired'); return { name: 'ada' }; } });
  const socket = FakeSocket.next();
  c.connect();
  const ws = await socket;
  const next = FakeSocket.next();
  const closed = new Promise((resolve) => c.once('close', resolve));
  ws.open();
  const e = await closed;
  assert.deepEqual([e.reconnect, e.message], [true, 'Could not get the credentials: token expired']);
  await accept(await next);
  assert.equal(c.state, 'open');
  c.close();
});

test('retry() starts the next attempt at once', async () => {
  const { c, ws } = await connected({ reconnect: { minDelay: 60_000, maxDelay: 60_000, jitter: 0 } });
  const socket = FakeSocket.next();
  await closeOnce(c, ws, 1006);
  assert.ok(c.retryIn > 50_000);
  assert.equal(c.retry(), true);
  assert.equal(c.retryAt, null);
  await accept(await socket, 'c2');
  assert.equal(c.id, 'c2');
  assert.equal(c.retry(), false); // open: nothing to retry
  c.close();
});

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

// README.md's table of close codes says, for each code, what the client
// does (its first word: stop, or the pace of the reconnect) and its words
// (the first `quoted` text): they must be what closePolicy returns.
test('README.md close-code table agrees with closePolicy', async () => {
  const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
  const header = '| code | the server sends | the client | statusText |';
  const start = readme.indexOf(header);
  assert.ok(start >= 0, `README.md has no table headed "${header}"`);
  const lines = readme.slice(start).split('\n');
  const rows = lines.slice(2, lines.findIndex((l) => !l.startsWith('|')));
  const quoted = (cell) => cell.match(/`([^`]*)`/)?.[1] ?? '';
  const seen = [];
  for (const row of rows) {
    const [code, sends, does, says] = row.split('|').slice(1, -1).map((s) => s.trim());
    const policy = closePolicy(Number(code), { reason: quoted(sends) });
    const action = policy.reconnect ? policy.pace : 'stop';
    assert.equal(does.split(/[\s:,.]/)[0], action, `README row ${code}: "${does}"`);
    assert.equal(quoted(says), policy.message, `README row ${code}: "${says}"`);
    seen.push(Number(code));
  }
  assert.deepEqual(seen, [1000, 1001, 1006, 1007, 1008, 1009, 1011, 1012, 1013, 4001, 4002, 4003, 4004]);
});

// echows.d.ts must declare what echows.js exports, and the client's members.
test('echows.d.ts declares the exports and members of echows.js', async () => {
  const dts = await readFile(new URL('../echows.d.ts', import.meta.url), 'utf8');
  const declared = new Set([...dts.matchAll(/^export declare (?:const|function|class) (\w+)/gm)].map((m) => m[1]));
  assert.deepEqual([...declared].sort(), Object.keys(echows).sort());
  const body = dts.slice(dts.indexOf('export declare class EchowsClient'));
  const members = new Set([...body.slice(0, body.indexOf('\n}')).matchAll(/^ {2}(?:readonly )?(\w+)[<(:?]/gm)].map((m) => m[1]));
  members.delete('constructor');
  const runtime = Object.getOwnPropertyNames(EchowsClient.prototype).filter((n) => n !== 'constructor');
  assert.deepEqual([...members].sort(), runtime.sort());
  assert.deepEqual(Object.values(State), ['idle', 'connecting', 'authenticating', 'open', 'reconnecting', 'closed']);
});

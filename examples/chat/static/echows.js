// echows.js: a browser client for the echows WebSocket protocol.
//
// A plain ES module with no dependencies and no build step: copy it next to
// your page and `import { EchowsClient } from './echows.js'`.
//
//   const client = new EchowsClient({ url: '/ws', credentials: { token } });
//   client.on('state', (state) => console.log('connection', state));
//   client.on('error', ({ message }) => console.warn(message));
//   client.on('chat', (data) => render(data));
//   const me = await client.connect(); // { id, userId, time }
//   client.join(['lobby']);
//   client.send('chat', { room: 'lobby', text: 'hello' });
//
// What it does
//
//   - Opens the socket, sends {"event":"authenticate","data":credentials} as
//     soon as it is open, and resolves connect() with the data of the first
//     `connected` event ({id, userId, time}).
//   - Sends {"event":"heartbeat"} every heartbeatInterval ms once
//     authenticated, so the server's idle sweep (HeartbeatTimeout, 90 s by
//     default) never closes a quiet client.
//   - Reconnects after any close it did not ask for, with exponential
//     backoff and jitter, authenticates again (credentials may be a function,
//     called for every connection, so a token can be refreshed) and joins
//     again the rooms it had joined. It does not reconnect after close(), nor
//     after 4003 (authentication failed) or 4004 (encryption required):
//     retrying the same credentials would only loop.
//   - Each connection has a new client id: read client.id after `connected`.
//
// Events (client.on(event, fn) returns a function that removes fn)
//
//   'state'      (state, previous): 'idle' → 'connecting' → 'authenticating'
//                → 'open'; 'reconnecting' while waiting to retry and while
//                retrying; 'closed' after close() or a fatal close.
//   'connected'  (data): every successful authentication, reconnects included.
//   'close'      ({code, reason, reconnect, delay}): the socket closed;
//                reconnect says whether a retry is scheduled, in delay ms.
//   'error'      ({message}): an error event from the server, such as
//                "Not authenticated" or "Authentication failed".
//   '*'          (event, data, message): every message from the server.
//   any other    (data, message): a message from the server with that event.
//
// The library's own events ('state', 'close', '*') share the namespace of
// the server's events: do not give server events those names.
//
// Sending while not authenticated
//
//   send(event, data) writes at once while the client is 'open' and returns
//   true. Otherwise (connecting, authenticating, reconnecting, or before
//   connect()) the message is queued and sent, in order, right after the next
//   `connected` and after the rooms were joined again; send returns false.
//   The queue holds at most queueLimit messages (default 100): past that,
//   and after close() or a fatal close, send throws an Error. The queue is
//   no delivery guarantee: a message written just before the connection
//   drops is lost, as with any WebSocket.
//
// join(rooms) and leave(rooms) work the same way: the client remembers the
// rooms it asked for and asks again after every reconnect. The server
// decides (its ValidateRooms hook) and does not answer a join; an app that
// needs to know sends its own request after the join (messages from one
// connection are handled in order).

/** Connection states, in the order a first connection goes through them. */
export const State = Object.freeze({
  IDLE: 'idle',
  CONNECTING: 'connecting',
  AUTHENTICATING: 'authenticating',
  OPEN: 'open',
  RECONNECTING: 'reconnecting',
  CLOSED: 'closed',
});

/** Close codes after which the client does not reconnect. */
export const FATAL_CLOSE_CODES = Object.freeze([4003, 4004]);

/** Events of the protocol that send() refuses: use the methods instead. */
const SYSTEM_EVENTS = new Set(['authenticate', 'connected', 'disconnect', 'join', 'leave', 'heartbeat', 'error']);

const OPEN = 1; // WebSocket.OPEN

/** The error connect() rejects with, and send() throws once closed. */
export class EchowsError extends Error {
  constructor(message, { code, reason } = {}) {
    super(message);
    this.name = 'EchowsError';
    this.code = code;
    this.reason = reason;
  }
}

export class EchowsClient {
  #url;
  #credentials;
  #heartbeatInterval;
  #backoff; // null when reconnecting is off
  #queueLimit;
  #WebSocket;

  #state = State.IDLE;
  #ws = null;
  #info = null; // data of the current connection's `connected`
  #rooms = new Set();
  #queue = [];
  #listeners = new Map();
  #attempt = 0; // failed connections since the last `connected`
  #retryTimer = null;
  #heartbeatTimer = null;
  #lastError = ''; // message of the last error event, to explain a close
  #ready = null; // {promise, resolve, reject} of connect()

  /**
   * @param {object} options
   * @param {string} [options.url] ws://, wss://, or a path such as '/ws'
   *   resolved against the page's location. Default '/ws'.
   * @param {any|function(): any|Promise<any>} options.credentials the data
   *   of the authenticate event, or a function returning it (called for every
   *   connection).
   * @param {number} [options.heartbeatInterval] ms between heartbeats; 0
   *   turns them off. Default 30000.
   * @param {object|false} [options.reconnect] backoff: delay = min(maxDelay,
   *   minDelay × factor^attempt), minus up to jitter × delay at random.
   *   Defaults {minDelay: 500, maxDelay: 30000, factor: 2, jitter: 0.5}.
   *   false never reconnects.
   * @param {number} [options.queueLimit] messages send() may queue while not
   *   open. Default 100.
   * @param {typeof WebSocket} [options.WebSocket] the WebSocket class, for
   *   tests or other runtimes. Default globalThis.WebSocket.
   */
  constructor({
    url = '/ws',
    credentials,
    heartbeatInterval = 30000,
    reconnect = {},
    queueLimit = 100,
    WebSocket = globalThis.WebSocket,
  } = {}) {
    this.#url = url;
    this.#credentials = credentials;
    this.#heartbeatInterval = heartbeatInterval;
    this.#backoff = reconnect === false ? null : {
      minDelay: 500, maxDelay: 30000, factor: 2, jitter: 0.5, ...reconnect,
    };
    this.#queueLimit = queueLimit;
    this.#WebSocket = WebSocket;
  }

  /** The connection state (see State). */
  get state() { return this.#state; }
  /** This connection's client id, or null while not authenticated. */
  get id() { return this.#info?.id ?? null; }
  /** The user id the server gave, or null. */
  get userId() { return this.#info?.userId ?? null; }
  /** The data of this connection's `connected` event, or null. */
  get connected() { return this.#info; }
  /** The rooms the client asked to join (and re-joins on reconnect). */
  get rooms() { return [...this.#rooms]; }

  /**
   * Starts connecting. Resolves with the data of the first `connected`;
   * rejects with an EchowsError when authentication fails (4003, 4004) or
   * close() is called first. While the server cannot be reached it keeps
   * retrying, and the promise stays pending. Calling it again returns the
   * same promise; after close() it starts over.
   */
  connect() {
    if (this.#ready && this.#state !== State.CLOSED) return this.#ready.promise;
    let resolve, reject;
    const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
    promise.catch(() => {}); // a caller that ignores it gets no unhandled rejection
    this.#ready = { promise, resolve, reject, settled: false };
    this.#attempt = 0;
    this.#lastError = '';
    this.#open(State.CONNECTING);
    globalThis.addEventListener?.('online', this.#onOnline);
    return promise;
  }

  /**
   * Closes the connection for good: no reconnect, queued messages are
   * dropped, a pending connect() rejects. connect() starts again.
   */
  close(code = 1000, reason = '') {
    if (this.#state === State.CLOSED) return;
    this.#stopTimers();
    globalThis.removeEventListener?.('online', this.#onOnline);
    const ws = this.#ws;
    this.#ws = null;
    this.#info = null;
    this.#queue = [];
    if (ws) {
      detach(ws);
      try {
        ws.close(code, reason);
      } catch { // browsers accept only 1000 and 3000-4999 from a client
        ws.close();
      }
    }
    this.#setState(State.CLOSED);
    this.#emit('close', { code, reason, reconnect: false });
    this.#settle(new EchowsError('closed by the client', { code, reason }));
  }

  /**
   * Sends a custom event. Returns true when written to the socket, false
   * when queued until the next `connected`. Throws when the queue is full,
   * after close(), or for a system event (use join/leave).
   */
  send(event, data) {
    if (typeof event !== 'string' || event === '') throw new TypeError('send: event must be a non-empty string');
    if (SYSTEM_EVENTS.has(event)) throw new TypeError(`send: "${event}" is a system event`);
    if (this.#state === State.CLOSED) throw new EchowsError(`send "${event}": the client is closed`);
    const msg = { event, data };
    if (this.#state === State.OPEN && this.#write(msg)) return true;
    if (this.#queue.length >= this.#queueLimit) {
      throw new EchowsError(`send "${event}": ${this.#queue.length} messages already wait for the connection`);
    }
    this.#queue.push(msg);
    return false;
  }

  /** Joins rooms (a name or an array), now if open, and after every reconnect. */
  join(rooms) {
    const list = roomList(rooms).filter((r) => !this.#rooms.has(r));
    list.forEach((r) => this.#rooms.add(r));
    if (list.length && this.#state === State.OPEN) this.#write({ event: 'join', data: { rooms: list } });
  }

  /** Leaves rooms (a name or an array) and stops re-joining them. */
  leave(rooms) {
    const list = roomList(rooms).filter((r) => this.#rooms.delete(r));
    if (list.length && this.#state === State.OPEN) this.#write({ event: 'leave', data: { rooms: list } });
  }

  /** Adds a listener; returns a function that removes it. */
  on(event, fn) {
    if (!this.#listeners.has(event)) this.#listeners.set(event, new Set());
    this.#listeners.get(event).add(fn);
    return () => this.off(event, fn);
  }

  /** Adds a listener called at most once. */
  once(event, fn) {
    const off = this.on(event, (...args) => { off(); fn(...args); });
    return off;
  }

  /** Removes a listener added with on(). */
  off(event, fn) {
    this.#listeners.get(event)?.delete(fn);
  }

  // --- connection ---

  #open(state) {
    this.#setState(state);
    let ws;
    try {
      ws = new this.#WebSocket(resolveURL(this.#url));
    } catch (err) { // a malformed URL: retrying cannot help
      this.#fail(new EchowsError(`connect: ${err.message}`));
      return;
    }
    this.#ws = ws;
    let opened = false;
    ws.onopen = () => { opened = true; this.#authenticate(ws); };
    ws.onmessage = (ev) => this.#receive(ev.data);
    ws.onclose = (ev) => this.#closed(ws, ev.code, ev.reason);
    // Browsers follow an error with a close event. Some runtimes (Node 20)
    // do not when the connection could not be made: count that as a close.
    ws.onerror = () => { if (!opened) this.#closed(ws, 1006, ''); };
  }

  async #authenticate(ws) {
    this.#setState(State.AUTHENTICATING);
    let data;
    try {
      data = typeof this.#credentials === 'function' ? await this.#credentials() : this.#credentials;
    } catch (err) {
      this.#emit('error', { message: `credentials: ${err?.message ?? err}` });
      if (ws === this.#ws) ws.close(1000, 'no credentials'); // retried with backoff
      return;
    }
    if (ws === this.#ws && ws.readyState === OPEN) this.#write({ event: 'authenticate', data });
  }

  #receive(text) {
    let msg;
    try {
      msg = JSON.parse(text);
    } catch {
      console.warn('echows: frame is not JSON, ignored:', text);
      return;
    }
    if (!msg || typeof msg.event !== 'string') return;
    if (msg.event === 'connected') {
      this.#authenticated(msg.data);
    } else if (msg.event === 'error') {
      this.#lastError = msg.data?.message ?? '';
    }
    this.#emit('*', msg.event, msg.data, msg);
    if (msg.event !== 'connected') this.#emit(msg.event, msg.data, msg);
  }

  // #authenticated runs on `connected`: rooms first, then what was queued
  // while not open (it may address those rooms), then the listeners.
  #authenticated(data) {
    this.#info = data ?? {};
    this.#attempt = 0;
    this.#lastError = '';
    if (this.#rooms.size) this.#write({ event: 'join', data: { rooms: [...this.#rooms] } });
    const queued = this.#queue;
    this.#queue = [];
    queued.forEach((m) => this.#write(m));
    if (this.#heartbeatInterval > 0) {
      this.#heartbeatTimer = setInterval(() => this.#write({ event: 'heartbeat' }), this.#heartbeatInterval);
    }
    this.#setState(State.OPEN);
    this.#emit('connected', this.#info);
    this.#settle(null, this.#info);
  }

  #closed(ws, code, reason) {
    if (ws !== this.#ws) return;
    this.#ws = null;
    this.#info = null;
    this.#stopTimers();
    if (FATAL_CLOSE_CODES.includes(code) || !this.#backoff) {
      const why = this.#lastError || reason || `connection closed (${code})`;
      this.#fail(new EchowsError(why, { code, reason }));
      return;
    }
    const delay = this.#delay();
    this.#attempt++;
    this.#setState(State.RECONNECTING);
    this.#emit('close', { code, reason, reconnect: true, delay });
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      this.#open(State.RECONNECTING);
    }, delay);
  }

  // #fail ends the client after a close it must not retry.
  #fail(err) {
    this.#stopTimers();
    globalThis.removeEventListener?.('online', this.#onOnline);
    this.#queue = [];
    this.#setState(State.CLOSED);
    this.#emit('close', { code: err.code, reason: err.reason, reconnect: false });
    this.#settle(err);
  }

  // The browser says the network is back: retry now rather than at the end
  // of a long backoff.
  #onOnline = () => {
    if (this.#retryTimer === null) return;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#open(State.RECONNECTING);
  };

  #delay() {
    const { minDelay, maxDelay, factor, jitter } = this.#backoff;
    const base = Math.min(maxDelay, minDelay * factor ** this.#attempt);
    return Math.max(0, Math.round(base * (1 - jitter * Math.random())));
  }

  #write(msg) {
    const ws = this.#ws;
    if (!ws || ws.readyState !== OPEN) return false;
    ws.send(JSON.stringify(msg));
    return true;
  }

  #stopTimers() {
    clearInterval(this.#heartbeatTimer);
    clearTimeout(this.#retryTimer);
    this.#heartbeatTimer = null;
    this.#retryTimer = null;
  }

  #setState(state) {
    if (state === this.#state) return;
    const previous = this.#state;
    this.#state = state;
    this.#emit('state', state, previous);
  }

  #settle(err, value) {
    const ready = this.#ready;
    if (!ready || ready.settled) return;
    ready.settled = true;
    if (err) ready.reject(err);
    else ready.resolve(value);
  }

  #emit(event, ...args) {
    const fns = this.#listeners.get(event);
    if (!fns) return;
    for (const fn of [...fns]) {
      try {
        fn(...args);
      } catch (err) { // a listener's bug must not break the connection
        (globalThis.reportError ?? console.error)(err);
      }
    }
  }
}

function detach(ws) {
  ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
}

function roomList(rooms) {
  const list = Array.isArray(rooms) ? rooms : [rooms];
  for (const r of list) {
    if (typeof r !== 'string' || r === '') throw new TypeError('rooms must be non-empty strings');
  }
  return [...new Set(list)];
}

// resolveURL turns '/ws' or 'http(s)://...' into a ws(s):// URL.
function resolveURL(url) {
  const u = new URL(url, globalThis.location?.href);
  if (u.protocol === 'http:') u.protocol = 'ws:';
  if (u.protocol === 'https:') u.protocol = 'wss:';
  return u.href;
}

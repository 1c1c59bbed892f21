// echows.js: the browser client of the echows WebSocket protocol.
//
// A plain ES module with no dependencies and no build step. Serve it from Go
// with package github.com/echows/echows/browser (at /echows.js), or copy it
// next to your page. README.md beside this file is the reference; the
// TypeScript declarations are in echows.d.ts.
//
//   import { EchowsClient } from '/echows.js';
//   const client = new EchowsClient({ url: '/ws', credentials: { token } });
//   client.on('state', (state, previous, text) => showStatus(state, text));
//   client.on('chat', (data) => render(data));
//   const me = await client.connect(); // { id, userId, time }
//   client.join(['lobby']);
//   client.send('chat', { room: 'lobby', text: 'hello' });

/** Connection states, in the order a first connection goes through them. */
export const State = Object.freeze({
  IDLE: 'idle',
  CONNECTING: 'connecting',
  AUTHENTICATING: 'authenticating',
  OPEN: 'open',
  RECONNECTING: 'reconnecting',
  CLOSED: 'closed',
});

/**
 * How soon the client retries after a close it reconnects from:
 * SOON at a random moment within minDelay (the server is going away and
 * another instance, or the restarted one, takes the connection), BACKOFF
 * after the exponential backoff, LATER after the backoff of at least
 * BUSY_ATTEMPT failed attempts (the server asked to wait).
 */
export const Pace = Object.freeze({ SOON: 'soon', BACKOFF: 'backoff', LATER: 'later' });

/** The attempt a LATER retry counts from: 4 × minDelay by default. */
const BUSY_ATTEMPT = 2;

/** Events of the protocol that send() refuses: use the methods instead. */
const SYSTEM_EVENTS = new Set(['authenticate', 'connected', 'disconnect', 'join', 'leave', 'heartbeat', 'error']);

/** The error text the server sends before 4003 when its hook failed. */
const AUTH_ERROR = 'Authentication error';
/** The error text (and close reason) of the server's per-user connection cap. */
const TOO_MANY = 'Too many connections';

const OPEN = 1; // WebSocket.OPEN

/**
 * What the client does after the server (or the network) closed the
 * connection with code: whether it reconnects, how soon, and the reason in
 * words for a person. details: the close frame's reason, the message of the
 * last error event before it, whether the socket had opened and whether the
 * client had authenticated on it.
 *
 * @param {number} code
 * @param {{reason?: string, error?: string, opened?: boolean, authenticated?: boolean}} [details]
 * @returns {{reconnect: boolean, pace: string, message: string}}
 */
export function closePolicy(code, { reason = '', error = '', opened = true, authenticated = true } = {}) {
  const again = (message, pace = Pace.BACKOFF) => ({ reconnect: true, pace, message });
  const stop = (message) => ({ reconnect: false, pace: Pace.BACKOFF, message });
  switch (code) {
    case 1000:
      return again(reason ? `The server closed the connection: ${reason}` : 'The server closed the connection');
    case 1001:
    case 1012:
      return again('The server is restarting', Pace.SOON);
    case 1006:
      return again(opened ? 'The connection was lost' : 'Cannot reach the server');
    case 1007:
      return again('The server received text that is not valid UTF-8');
    case 1008:
      if (reason === TOO_MANY || error === TOO_MANY) {
        return stop('Too many connections for this user: close another tab or window, then connect again');
      }
      return stop(reason ? `The server refused the connection: ${reason}` : 'The server refused the connection');
    case 1009:
      if (!authenticated) return stop('The credentials are larger than the server accepts');
      return again('A message was larger than the server accepts and was not delivered');
    case 1011:
      return again('The server hit an unexpected error');
    case 1013:
      return again('The server is busy', Pace.LATER);
    case 4001:
      return again('Authentication took too long');
    case 4002:
      return again('The server heard nothing from this client for too long');
    case 4003:
      if (error === AUTH_ERROR) return again('The server could not check the credentials');
      return stop('Authentication failed: the server refused the credentials');
    case 4004:
      return stop('The server requires encryption, which this client does not support');
    default:
      return again(reason ? `The server closed the connection: ${reason}` : `The connection closed (code ${code})`);
  }
}

/** The error connect() rejects with, and send() throws once closed. */
export class EchowsError extends Error {
  /**
   * @param {string} message the reason in words
   * @param {{code?: number, reason?: string, error?: string}} [details]
   *   the close code and reason, and the server's last error message
   */
  constructor(message, { code, reason = '', error = '' } = {}) {
    super(message);
    this.name = 'EchowsError';
    this.code = code;
    this.reason = reason;
    this.error = error;
  }
}

const stateText = {
  [State.IDLE]: 'Not connected',
  [State.CONNECTING]: 'Connecting',
  [State.AUTHENTICATING]: 'Authenticating',
  [State.OPEN]: 'Connected',
};

export class EchowsClient {
  #url;
  #credentials;
  #heartbeatInterval;
  #backoff; // null when reconnecting is off
  #queueLimit;
  #WebSocket;

  #state = State.IDLE;
  #statusText = stateText[State.IDLE];
  #ws = null;
  #info = null; // data of the current connection's `connected`
  #rooms = new Set();
  #queue = [];
  #listeners = new Map();
  #attempt = 0; // failed connections since the last `connected`
  #retryTimer = null;
  #retryAt = null;
  #heartbeatTimer = null;
  #lastError = ''; // message of this connection's last error event
  #localReason = ''; // why the client itself closed this connection
  #lastClose = null;
  #ready = null; // {promise, resolve, reject, settled} of connect()

  /**
   * @param {object} options see README.md and echows.d.ts
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
  /** The state in words for a person, with the reason of the last close while reconnecting or closed. */
  get statusText() { return this.#statusText; }
  /** This connection's client id, or null while not authenticated. */
  get id() { return this.#info?.id ?? null; }
  /** The user id the server gave, or null. */
  get userId() { return this.#info?.userId ?? null; }
  /** The data of this connection's `connected` event, or null. */
  get connected() { return this.#info; }
  /** The rooms the client asked to join (and re-joins on reconnect). */
  get rooms() { return [...this.#rooms]; }
  /** The messages send() queued, oldest first, waiting for the connection. */
  get pending() { return [...this.#queue]; }
  /** When the next attempt to connect starts (ms since the epoch), or null when none is scheduled. */
  get retryAt() { return this.#retryAt; }
  /** Milliseconds until the next attempt (0 when due), or null when none is scheduled. */
  get retryIn() { return this.#retryAt === null ? null : Math.max(0, this.#retryAt - Date.now()); }
  /** What the 'close' event said about the last close, or null before any. */
  get lastClose() { return this.#lastClose; }

  /**
   * Starts connecting. Resolves with the data of the first `connected`;
   * rejects with an EchowsError after a close the client does not retry
   * (4003, 4004, 1008, see closePolicy) or when close() is called first.
   * While the server cannot be reached it keeps retrying, and the promise
   * stays pending. Calling it again returns the same promise; after a
   * close it starts over.
   */
  connect() {
    if (this.#ready && this.#state !== State.CLOSED) return this.#ready.promise;
    let resolve, reject;
    const promise = new Promise((res, rej) => { resolve = res; reject = rej; });
    promise.catch(() => {}); // a caller that ignores it gets no unhandled rejection
    this.#ready = { promise, resolve, reject, settled: false };
    this.#attempt = 0;
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
    const ws = this.#ws;
    this.#ws = null;
    if (ws) {
      detach(ws);
      try {
        ws.close(code, reason);
      } catch { // browsers accept only 1000 and 3000-4999 from a client
        ws.close();
      }
    }
    this.#stop({ code, reason, error: '', message: 'Disconnected' }, new EchowsError('closed by the client', { code, reason }));
  }

  /**
   * Retries at once when the client waits to reconnect (a "Retry now"
   * button). Returns whether an attempt started.
   */
  retry() {
    if (this.#retryTimer === null) return false;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#open(State.RECONNECTING);
    return true;
  }

  /**
   * Sends a custom event. Returns true when written to the socket, false
   * when queued until the next `connected` (it is then the last of
   * client.pending). Throws when the queue is full, after close() or a
   * close the client does not retry, and for a system event (use
   * join/leave).
   */
  send(event, data) {
    if (typeof event !== 'string' || event === '') throw new TypeError('send: event must be a non-empty string');
    if (SYSTEM_EVENTS.has(event)) throw new TypeError(`send: "${event}" is a system event`);
    if (this.#state === State.CLOSED) throw new EchowsError(`send "${event}": the client is closed`);
    if (this.#state === State.OPEN && this.#write({ event, data })) return true;
    if (this.#queue.length >= this.#queueLimit) {
      throw new EchowsError(`send "${event}": ${this.#queue.length} messages already wait for the connection`);
    }
    const entry = Object.freeze({ event, data, queuedAt: Date.now() });
    this.#queue.push(entry);
    this.#emitQueue({ added: [entry] });
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

  /** Adds a listener called at most once; returns a function that removes it. */
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
    this.#retryAt = null;
    this.#lastError = '';
    this.#localReason = '';
    // While reconnecting the status keeps saying why the last connection closed.
    this.#setState(state, stateText[state] ?? this.#statusText);
    let ws;
    try {
      ws = new this.#WebSocket(resolveURL(this.#url));
    } catch (err) { // a malformed URL: retrying cannot help
      const message = `Cannot connect: ${err.message}`;
      this.#stop({ code: undefined, reason: '', error: '', message }, new EchowsError(message));
      return;
    }
    this.#ws = ws;
    let opened = false;
    ws.onopen = () => { opened = true; this.#authenticate(ws); };
    ws.onmessage = (ev) => this.#receive(ev.data);
    ws.onclose = (ev) => this.#closed(ws, ev.code, ev.reason, opened);
    // Browsers follow an error with a close event. Some runtimes (Node 20)
    // do not when the connection could not be made: count that as a close.
    ws.onerror = () => { if (!opened) this.#closed(ws, 1006, '', false); };
  }

  async #authenticate(ws) {
    this.#setState(State.AUTHENTICATING, stateText[State.AUTHENTICATING]);
    let data;
    try {
      data = typeof this.#credentials === 'function' ? await this.#credentials() : this.#credentials;
    } catch (err) {
      if (ws !== this.#ws) return;
      this.#localReason = `Could not get the credentials: ${err?.message ?? err}`;
      ws.close(1000, 'no credentials'); // retried with backoff
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
    if (this.#rooms.size) this.#write({ event: 'join', data: { rooms: [...this.#rooms] } });
    const queued = this.#queue;
    this.#queue = [];
    queued.forEach((m) => this.#write({ event: m.event, data: m.data }));
    if (this.#heartbeatInterval > 0) {
      this.#heartbeatTimer = setInterval(() => this.#write({ event: 'heartbeat' }), this.#heartbeatInterval);
    }
    this.#setState(State.OPEN, stateText[State.OPEN]);
    if (queued.length) this.#emitQueue({ sent: queued });
    this.#emit('connected', this.#info);
    this.#settle(null, this.#info);
  }

  #closed(ws, code, reason, opened) {
    if (ws !== this.#ws) return;
    detach(ws);
    this.#ws = null;
    const authenticated = this.#info !== null;
    this.#info = null;
    clearInterval(this.#heartbeatTimer);
    this.#heartbeatTimer = null;
    const error = this.#lastError;
    const policy = closePolicy(code, { reason, error, opened, authenticated });
    const message = this.#localReason || policy.message;
    if (!policy.reconnect || !this.#backoff) {
      this.#stop({ code, reason, error, message }, new EchowsError(message, { code, reason, error }));
      return;
    }
    const delay = this.#delay(policy.pace);
    this.#retryAt = Date.now() + delay;
    this.#lastClose = Object.freeze({ code, reason, error, message, reconnect: true, delay, retryAt: this.#retryAt });
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null;
      this.#open(State.RECONNECTING);
    }, delay);
    this.#setState(State.RECONNECTING, message);
    this.#emit('close', this.#lastClose);
  }

  // #stop ends the client: after close(), or a close it must not retry.
  #stop({ code, reason, error, message }, err) {
    clearInterval(this.#heartbeatTimer);
    clearTimeout(this.#retryTimer);
    this.#heartbeatTimer = null;
    this.#retryTimer = null;
    this.#retryAt = null;
    this.#info = null;
    globalThis.removeEventListener?.('online', this.#onOnline);
    const dropped = this.#queue;
    this.#queue = [];
    this.#lastClose = Object.freeze({ code, reason, error, message, reconnect: false, delay: null, retryAt: null });
    this.#setState(State.CLOSED, message);
    if (dropped.length) this.#emitQueue({ dropped });
    this.#emit('close', this.#lastClose);
    this.#settle(err);
  }

  // The browser says the network is back: retry now rather than at the end
  // of a long backoff.
  #onOnline = () => { this.retry(); };

  // #delay is the wait before the next attempt; it counts the attempt.
  #delay(pace) {
    const { minDelay, maxDelay, factor, jitter } = this.#backoff;
    if (pace === Pace.SOON) return Math.floor(minDelay * Math.random()); // < minDelay
    const attempt = pace === Pace.LATER ? Math.max(this.#attempt, BUSY_ATTEMPT) : this.#attempt;
    this.#attempt = attempt + 1;
    const base = Math.min(maxDelay, minDelay * factor ** attempt);
    return Math.max(0, Math.round(base * (1 - jitter * Math.random())));
  }

  #write(msg) {
    const ws = this.#ws;
    if (!ws || ws.readyState !== OPEN) return false;
    ws.send(JSON.stringify(msg));
    return true;
  }

  #setState(state, statusText) {
    if (state === this.#state && statusText === this.#statusText) return;
    const previous = this.#state;
    this.#state = state;
    this.#statusText = statusText;
    this.#emit('state', state, previous, statusText);
  }

  #emitQueue({ added = [], sent = [], dropped = [] }) {
    this.#emit('queue', this.pending, { added, sent, dropped });
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

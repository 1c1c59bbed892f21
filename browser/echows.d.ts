// Type declarations of echows.js, the browser client of the echows
// WebSocket protocol. README.md beside this file is the reference.

/** Connection states, in the order a first connection goes through them. */
export declare const State: {
  readonly IDLE: 'idle';
  readonly CONNECTING: 'connecting';
  readonly AUTHENTICATING: 'authenticating';
  readonly OPEN: 'open';
  readonly RECONNECTING: 'reconnecting';
  readonly CLOSED: 'closed';
};
export type State = (typeof State)[keyof typeof State];

/** How soon the client retries after a close it reconnects from. */
export declare const Pace: {
  readonly SOON: 'soon';
  readonly BACKOFF: 'backoff';
  readonly LATER: 'later';
};
export type Pace = (typeof Pace)[keyof typeof Pace];

/** What the client does after a close: see closePolicy and README.md. */
export interface ClosePolicy {
  /** Whether the client connects again. */
  reconnect: boolean;
  /** How soon, when it does. */
  pace: Pace;
  /** The reason in words for a person, e.g. "Cannot reach the server". */
  message: string;
}

/** What closePolicy knows about a close besides its code. */
export interface CloseDetails {
  /** The close frame's reason. Default "". */
  reason?: string;
  /** The message of the last error event before the close. Default "". */
  error?: string;
  /** Whether the socket had opened. Default true. */
  opened?: boolean;
  /** Whether the client had authenticated on it. Default true. */
  authenticated?: boolean;
}

/** What the client does after the server (or the network) closed the connection with code. */
export declare function closePolicy(code: number, details?: CloseDetails): ClosePolicy;

/** The data of the server's `connected` event. */
export interface Connected {
  /** This connection's client id (every connection has a new one). */
  id: string;
  /** The user id the server's authenticate hook gave; absent when none. */
  userId?: string;
  /** When the server accepted the connection, ISO-8601 UTC with milliseconds. */
  time: string;
  /** Key material of the encryption handshake, with RequireEncryption. */
  serverPublicKey?: string;
  salt?: string;
}

/** A frame of the protocol. */
export interface Message<D = unknown> {
  event: string;
  data: D;
  id?: string;
}

/** What the 'close' event (and client.lastClose) says about a close. */
export interface CloseInfo {
  /** The close code; undefined when the client could not even try (a malformed URL). */
  readonly code: number | undefined;
  /** The close frame's reason, as the server sent it. */
  readonly reason: string;
  /** The message of the server's last error event before the close, or "". */
  readonly error: string;
  /** The reason in words for a person. */
  readonly message: string;
  /** Whether the client connects again. */
  readonly reconnect: boolean;
  /** Milliseconds until the next attempt, or null when it does not reconnect. */
  readonly delay: number | null;
  /** When the next attempt starts (ms since the epoch), or null. */
  readonly retryAt: number | null;
}

/** A message send() queued while the client was not open. */
export interface QueuedMessage<D = unknown> {
  readonly event: string;
  readonly data: D;
  /** When send() queued it (ms since the epoch). */
  readonly queuedAt: number;
}

/** What changed in the queue: one of the lists is non-empty. */
export interface QueueChange {
  /** Queued by send(). */
  added: QueuedMessage[];
  /** Written to the socket right after `connected`. */
  sent: QueuedMessage[];
  /** Thrown away: close() or a close the client does not retry. */
  dropped: QueuedMessage[];
}

/** Backoff between attempts: delay = min(maxDelay, minDelay × factor^attempt), minus up to jitter × delay at random. */
export interface ReconnectOptions {
  /** ms. Default 500. */
  minDelay?: number;
  /** ms. Default 30000. */
  maxDelay?: number;
  /** Default 2. */
  factor?: number;
  /** 0 to 1. Default 0.5. */
  jitter?: number;
}

export interface ClientOptions<C = unknown> {
  /** ws://, wss://, http(s):// or a path such as "/ws", resolved against the page's location. Default "/ws". */
  url?: string;
  /** The data of the authenticate event, or a function returning it (called for every connection, so a token can be refreshed). */
  credentials?: C | (() => C | Promise<C>);
  /** ms between heartbeats once authenticated; 0 turns them off. Default 30000. */
  heartbeatInterval?: number;
  /** Backoff options, or false never to reconnect. */
  reconnect?: ReconnectOptions | false;
  /** Messages send() may queue while not open. Default 100. */
  queueLimit?: number;
  /** The WebSocket class, for tests or other runtimes. Default globalThis.WebSocket. */
  WebSocket?: typeof WebSocket;
}

/** The library's own events. Server events of these names cannot be listened to: do not use them. */
export interface ClientEvents {
  /** The state or its text changed (previous equals state when only the text did). */
  state: (state: State, previous: State, statusText: string) => void;
  /** Every successful authentication, reconnects included. */
  connected: (data: Connected) => void;
  /** The connection closed. */
  close: (info: CloseInfo) => void;
  /** An error event from the server, such as "Not authenticated". */
  error: (data: { message: string }, message: Message<{ message: string }>) => void;
  /** The queue of unsent messages changed. */
  queue: (pending: QueuedMessage[], change: QueueChange) => void;
  /** Every message from the server. */
  '*': (event: string, data: unknown, message: Message) => void;
}

/** K, unless it names an event with a typed listener (ClientEvents or ServerEvents). */
export type Untyped<K extends string, ServerEvents> = K extends keyof ClientEvents | keyof ServerEvents ? never : K;

/**
 * A client of an echows server. ServerEvents maps the server's custom
 * events to their data, for typed listeners; any other name is untyped.
 */
export declare class EchowsClient<ServerEvents extends object = Record<string, unknown>, C = unknown> {
  constructor(options?: ClientOptions<C>);

  /** The connection state. */
  readonly state: State;
  /** The state in words for a person, with the reason of the last close while reconnecting or closed. */
  readonly statusText: string;
  /** This connection's client id, or null while not authenticated. */
  readonly id: string | null;
  /** The user id the server gave, or null. */
  readonly userId: string | null;
  /** The data of this connection's `connected` event, or null. */
  readonly connected: Connected | null;
  /** The rooms the client asked to join (and re-joins on reconnect). */
  readonly rooms: string[];
  /** The messages waiting for the connection, oldest first. */
  readonly pending: QueuedMessage[];
  /** When the next attempt starts (ms since the epoch), or null when none is scheduled. */
  readonly retryAt: number | null;
  /** Milliseconds until the next attempt (0 when due), or null when none is scheduled. */
  readonly retryIn: number | null;
  /** What the 'close' event said about the last close, or null. */
  readonly lastClose: CloseInfo | null;

  /** Starts connecting; resolves with the first `connected`, rejects with an EchowsError after a close it does not retry or close(). */
  connect(): Promise<Connected>;
  /** Closes for good: no reconnect, queued messages dropped. connect() starts again. */
  close(code?: number, reason?: string): void;
  /** Retries at once when waiting to reconnect; returns whether an attempt started. */
  retry(): boolean;
  /** Sends a custom event: true when written, false when queued. Throws an EchowsError when closed or the queue is full, a TypeError for a system event. */
  send(event: string, data?: unknown): boolean;
  /** Joins rooms now if open, and after every reconnect. */
  join(rooms: string | string[]): void;
  /** Leaves rooms and stops re-joining them. */
  leave(rooms: string | string[]): void;

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof ClientEvents>(event: K, fn: ClientEvents[K]): () => void;
  on<K extends Exclude<keyof ServerEvents, keyof ClientEvents> & string>(
    event: K, fn: (data: ServerEvents[K], message: Message<ServerEvents[K]>) => void): () => void;
  on<K extends string>(event: Untyped<K, ServerEvents>, fn: (data: any, message: Message) => void): () => void;
  /** Adds a listener called at most once; returns a function that removes it. */
  once<K extends keyof ClientEvents>(event: K, fn: ClientEvents[K]): () => void;
  once<K extends Exclude<keyof ServerEvents, keyof ClientEvents> & string>(
    event: K, fn: (data: ServerEvents[K], message: Message<ServerEvents[K]>) => void): () => void;
  once<K extends string>(event: Untyped<K, ServerEvents>, fn: (data: any, message: Message) => void): () => void;
  /** Removes a listener added with on(). */
  off(event: string, fn: (...args: any[]) => void): void;
}

/** The error connect() rejects with, and send() throws once closed. */
export declare class EchowsError extends Error {
  constructor(message: string, details?: { code?: number; reason?: string; error?: string });
  readonly name: 'EchowsError';
  /** The close code, when a close caused it. */
  readonly code: number | undefined;
  /** The close frame's reason, or "". */
  readonly reason: string;
  /** The server's last error message before the close, or "". */
  readonly error: string;
}

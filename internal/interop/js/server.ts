// server.ts: runs the REAL upstream WebSocketServerHelper (@venizia/ignis-helpers)
// inside a Bun HTTP server, for the echows interop tests. Run under Bun:
//
//   REDIS_HOST=127.0.0.1 REDIS_PORT=6390 WS_PORT=0 bun server.ts
//
// Environment:
//   REDIS_HOST, REDIS_PORT (required), REDIS_PASSWORD   the Redis to share
//   WS_PORT            HTTP port (0 or unset: a free one, printed in READY)
//   WS_HOST            listen address (default 127.0.0.1)
//   WS_PATH            upgrade path (default: upstream's default, /ws)
//   WS_AUTH_TIMEOUT, WS_HEARTBEAT_INTERVAL, WS_HEARTBEAT_TIMEOUT   ms, optional
//   REDIS_MAX_RETRY    RedisHelper maxRetry (default -1: retry forever; upstream's
//                      own default 0 never reconnects after a lost connection)
//
// The app around the helper (hooks) is the harness's, not upstream's:
//   authenticateFn   {token: "<userId>"}  -> userId = token
//                    {token: "fail"} or no token -> null  (rejected: 4003)
//                    {token: "throw"}             -> throws (Authentication error, 4003)
//                    {anonymous: true}            -> {} (authenticated, no userId)
//   validateRoomFn   allows every room
//   messageHandler   event "echo": sends {event:"echo", data} back to the
//                    sender (lets a client know every earlier message of its,
//                    join included, was processed: Bun handles one socket's
//                    messages in order and join completes in a microtask)
//
// Stdout protocol (upstream's own logs also go to stdout: match on prefixes):
//   READY <port>                      configure() resolved, handler wired in
//   OPEN <clientId>                   a WebSocket opened (before authentication)
//   CLOSE <clientId> <code> <reason>  a WebSocket closed (code/reason as Bun saw them)
//   CONNECTED <clientId> <userId|->   clientConnectedFn ran
//   DISCONNECTED <clientId> <userId|->  clientDisconnectedFn ran
//   MESSAGE <clientId> <json>         messageHandler got a custom event
//   OK <n> <op> / ERR <n> <message>   result of control command n
//
// Control commands on stdin, one JSON object per line (optional):
//   {"op":"send","destination":"<clientId|room>"?,"topic":"e","data":{...}}
//   {"op":"sendToClient","clientId":"..","event":"e","data":..}
//   {"op":"sendToUser","userId":"..","event":"e","data":..}
//   {"op":"sendToRoom","room":"..","event":"e","data":..,"exclude":[..]?}
//   {"op":"broadcast","event":"e","data":..,"exclude":[..]?}
//   {"op":"shutdown"}
// SIGTERM / SIGINT (or stdin "shutdown") -> helper.shutdown() (clients get
// 1001 "Server shutting down"), server.stop(), exit 0.

import { RedisHelper, WebSocketServerHelper } from '@venizia/ignis-helpers';

const host = process.env.REDIS_HOST ?? '127.0.0.1';
const redisPort = process.env.REDIS_PORT;
if (!redisPort) {
  console.error('server.ts: REDIS_PORT is required');
  process.exit(2);
}
const num = (name: string): number | undefined => {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) {
    console.error(`server.ts: ${name}=${v} is not a number`);
    process.exit(2);
  }
  return n;
};

function out(line: string) {
  process.stdout.write(line + '\n');
}

// maxRetry -1: retry forever. Upstream's default (0) never reconnects after a
// lost connection (quirk of RedisHelper: retryStrategy gives up at once).
const redis = new RedisHelper({
  name: 'interop-server-redis',
  host,
  port: redisPort,
  password: process.env.REDIS_PASSWORD || undefined,
  autoConnect: true,
  maxRetry: num('REDIS_MAX_RETRY') ?? -1,
});

// Bun needs a server before the helper (the helper takes it in its options),
// and the helper's handler before it can accept WebSockets: start with a
// placeholder, then reload() with the real fetch + websocket handler, as the
// upstream WebSocketComponent does.
const server = Bun.serve({
  hostname: process.env.WS_HOST || '127.0.0.1',
  port: num('WS_PORT') ?? 0,
  fetch: () => new Response('starting', { status: 503 }),
  websocket: { message() {} },
});

const helper = new WebSocketServerHelper({
  identifier: 'interop-ws',
  path: process.env.WS_PATH || undefined,
  server: server as any,
  redisConnection: redis,
  authTimeout: num('WS_AUTH_TIMEOUT'),
  heartbeatInterval: num('WS_HEARTBEAT_INTERVAL'),
  heartbeatTimeout: num('WS_HEARTBEAT_TIMEOUT'),
  authenticateFn: async (data: Record<string, unknown>) => {
    if (data.anonymous === true) return {};
    const token = data.token;
    if (token === 'throw') throw new Error('interop: authenticateFn threw on purpose');
    if (typeof token !== 'string' || token === '' || token === 'fail') return null;
    return { userId: token };
  },
  validateRoomFn: ({ rooms }) => rooms,
  clientConnectedFn: ({ clientId, userId }) => {
    out(`CONNECTED ${clientId} ${userId ?? '-'}`);
  },
  clientDisconnectedFn: ({ clientId, userId }) => {
    out(`DISCONNECTED ${clientId} ${userId ?? '-'}`);
  },
  messageHandler: ({ clientId, message }) => {
    out(`MESSAGE ${clientId} ${JSON.stringify(message)}`);
    if (message.event === 'echo') {
      helper.sendToClient({ clientId, event: 'echo', data: message.data });
    }
  },
});

let stopping = false;
async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  try {
    await helper.shutdown();
  } catch (err) {
    console.error('server.ts: shutdown error:', err);
  }
  server.stop(true);
  await redis.getClient().quit().catch(() => {});
  process.exit(code);
}
process.on('SIGTERM', () => void stop(0));
process.on('SIGINT', () => void stop(0));

type Cmd = Record<string, any> & { op: string };
function control(cmd: Cmd) {
  switch (cmd.op) {
    case 'send':
      return helper.send({ destination: cmd.destination, payload: { topic: cmd.topic, data: cmd.data } });
    case 'sendToClient':
      return helper.sendToClient({ clientId: cmd.clientId, event: cmd.event, data: cmd.data });
    case 'sendToUser':
      return helper.sendToUser({ userId: cmd.userId, event: cmd.event, data: cmd.data });
    case 'sendToRoom':
      return helper.sendToRoom({ room: cmd.room, event: cmd.event, data: cmd.data, exclude: cmd.exclude });
    case 'broadcast':
      return helper.broadcast({ event: cmd.event, data: cmd.data, exclude: cmd.exclude });
    case 'shutdown':
      return void stop(0);
    default:
      throw new Error(`unknown op ${JSON.stringify(cmd.op)}`);
  }
}

async function readControl() {
  const decoder = new TextDecoder();
  let buf = '';
  let n = 0;
  for await (const chunk of Bun.stdin.stream()) {
    buf += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (!line) continue;
      n++;
      try {
        const cmd = JSON.parse(line) as Cmd;
        control(cmd);
        out(`OK ${n} ${cmd.op}`);
      } catch (err) {
        out(`ERR ${n} ${String((err as Error)?.message ?? err).replace(/\n/g, ' ')}`);
      }
    }
  }
  // stdin closed: keep serving until a signal arrives.
}

async function main() {
  await helper.configure();
  const wsPath = helper.getPath();
  const handler = helper.getBunWebSocketHandler();
  server.reload({
    fetch(req, srv) {
      const url = new URL(req.url);
      if (url.pathname === wsPath && req.headers.get('upgrade')?.toLowerCase() === 'websocket') {
        if (srv.upgrade(req, { data: { clientId: crypto.randomUUID() } })) return undefined;
        return new Response('WebSocket upgrade failed', { status: 500 });
      }
      if (url.pathname === '/health') return new Response('ok');
      return new Response('not found', { status: 404 });
    },
    websocket: {
      ...handler,
      open(ws: any) {
        handler.open(ws);
        out(`OPEN ${ws.data.clientId}`);
      },
      close(ws: any, code: number, reason: string) {
        out(`CLOSE ${ws.data.clientId} ${code} ${JSON.stringify(reason)}`);
        handler.close(ws, code, reason);
      },
    } as any,
  });
  out(`READY ${server.port}`);
  void readControl();
}

main().catch(err => {
  console.error('server.ts: fatal:', err);
  process.exit(1);
});

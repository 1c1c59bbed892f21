// server.ts: the upstream server under test for cmd/echows-load: the REAL
// WebSocketServerHelper of @venizia/ignis-helpers inside a Bun HTTP server,
// with the same app hooks and control endpoint as ../server/main.go.
// Adapted from internal/interop/js/server.ts (the interop harness); the
// harness's per-event stdout lines and stdin commands are left out, so the
// process does only what an upstream app does, plus the control endpoint.
//
//   REDIS_PORT=6390 WS_PORT=0 BENCH_ROOM=bench bun server.ts
//
// Environment:
//   REDIS_HOST, REDIS_PORT   the Redis the helper needs (it requires one even
//                            for a single instance: it subscribes at configure)
//   WS_HOST, WS_PORT         listen address (default 127.0.0.1, 0 = a free port)
//   BENCH_ROOM               the bench room (default ws-default: clients are in
//                            upstream's default rooms, nothing is added)
//   BACKPRESSURE_LIMIT       Bun's backpressureLimit in bytes (default: the
//                            helper's, 1 MiB)
//   HEARTBEAT_TIMEOUT        ms (default 1 h: the load tool sends no heartbeats)
//   AUTH_TIMEOUT             ms (default 5 s, the helper's)
//   QUIET=1                  raise the helper's logger to warn (upstream logs
//                            two info lines per connection by default)
//
// Stdout: "READY <port> <pid>" once configure() resolved (upstream's own logs
// also go to stdout).
//
// Routes:
//   GET  /ws       the WebSocket endpoint (authenticate with {"token": "<userId>"})
//   POST /burst?room=&count=&size=&event=&burst=&mode=room|send
//                  count × helper.sendToRoom (mode room: Bun's native publish)
//                  or helper.send (mode send: local fan-out when the room is
//                  here, else a publish to Redis for the other instances),
//                  each with data {"b":burst,"s":seq,"t":<unix µs>,"p":"x…"}
//                  of size bytes
//   GET  /stats    JSON: process.memoryUsage() and the helper's client count
//   GET  /pubdelay JSON: the delays of the pub/pubsend messages since the last
//                  read (as benchsrv.PubDelay), and forgets them
//
// Custom events (the helper's messageHandler), the steady scenario's app:
//   pub      helper.sendToRoom({room: BENCH_ROOM, event: 'bench', data})
//   pubsend  helper.send({destination: BENCH_ROOM, payload: {topic: 'bench', data}})
//   echo     helper.sendToClient({clientId, event: 'bench', data})

import { applicationLogger, RedisHelper, WebSocketServerHelper } from '@venizia/ignis-helpers';

const num = (name: string, def: number): number => {
  const v = process.env[name];
  if (v === undefined || v === '') return def;
  const n = Number(v);
  if (!Number.isFinite(n)) {
    console.error(`server.ts: ${name}=${v} is not a number`);
    process.exit(2);
  }
  return n;
};

if (process.env.QUIET === '1') {
  (applicationLogger as any).level = 'warn';
}

const room = process.env.BENCH_ROOM || 'ws-default';
const redis = new RedisHelper({
  name: 'bench-server-redis',
  host: process.env.REDIS_HOST ?? '127.0.0.1',
  port: process.env.REDIS_PORT ?? '6379',
  autoConnect: true,
  maxRetry: -1,
});

const server = Bun.serve({
  hostname: process.env.WS_HOST || '127.0.0.1',
  port: num('WS_PORT', 0),
  fetch: () => new Response('starting', { status: 503 }),
  websocket: { message() {} },
});

const helper = new WebSocketServerHelper({
  identifier: 'bench-ws',
  server: server as any,
  redisConnection: redis,
  heartbeatTimeout: num('HEARTBEAT_TIMEOUT', 3_600_000),
  authTimeout: num('AUTH_TIMEOUT', 5_000),
  ...(process.env.BACKPRESSURE_LIMIT
    ? { serverOptions: { backpressureLimit: num('BACKPRESSURE_LIMIT', 1 << 20) } as any }
    : {}),
  authenticateFn: async (data: Record<string, unknown>) => {
    const token = data.token;
    if (typeof token !== 'string' || token === '') return null;
    return { userId: token };
  },
  validateRoomFn: ({ rooms }) => rooms,
  messageHandler: ({ clientId, message }) => {
    switch (message.event) {
      case 'pub': {
        const entry = nowMicros();
        helper.sendToRoom({ room, event: 'bench', data: message.data });
        recordDelay(message.data, entry);
        break;
      }
      case 'pubsend': {
        const entry = nowMicros();
        helper.send({ destination: room, payload: { topic: 'bench', data: message.data } });
        recordDelay(message.data, entry);
        break;
      }
      case 'echo':
        helper.sendToClient({ clientId, event: 'bench', data: message.data });
        break;
    }
  },
});

// Wall clock in microseconds (the load tool compares it with its own).
function nowMicros(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}

// The steady scenario's delays, as benchsrv's PubDelay: from the publisher's
// write ("t" of the data) to the hook's start and to its return, in µs.
let hookDelays: number[] = [];
let doneDelays: number[] = [];

function recordDelay(data: any, entry: number) {
  const t = data?.t;
  if (typeof t !== 'number') return;
  hookDelays.push(entry - t);
  doneDelays.push(nowMicros() - t);
}

// Nearest-rank quantile of sorted values, as benchsrv's quantile.
function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

function takeDelays(): Response {
  const hook = hookDelays.sort((a, b) => a - b);
  const done = doneDelays.sort((a, b) => a - b);
  hookDelays = [];
  doneDelays = [];
  return Response.json({
    n: hook.length,
    hook_p50_us: quantile(hook, 0.5),
    hook_p99_us: quantile(hook, 0.99),
    hook_max_us: quantile(hook, 1),
    done_p50_us: quantile(done, 0.5),
    done_p99_us: quantile(done, 0.99),
    done_max_us: quantile(done, 1),
  });
}

function burst(url: URL): Response {
  const q = url.searchParams;
  const target = q.get('room') || room;
  const event = q.get('event') || 'bench';
  const count = Math.max(1, Number(q.get('count') || 1));
  const size = Number(q.get('size') || 0);
  const b = Number(q.get('burst') || 0);
  const send = q.get('mode') === 'send';
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const t = nowMicros();
    const base = `{"b":${b},"s":${i},"t":${t},"p":""}`.length;
    const data = { b, s: i, t, p: 'x'.repeat(Math.max(0, size - base)) };
    if (send) {
      helper.send({ destination: target, payload: { topic: event, data } });
    } else {
      helper.sendToRoom({ room: target, event, data });
    }
  }
  const elapsed = Math.round((performance.now() - start) * 1e6);
  return Response.json({ sent: count, errors: 0, elapsed_ns: elapsed });
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
      if (url.pathname === '/burst' && req.method === 'POST') return burst(url);
      if (url.pathname === '/pubdelay') return takeDelays();
      if (url.pathname === '/stats') {
        const clients = helper.getClients() as Map<string, unknown>;
        return Response.json({ memory: process.memoryUsage(), clients: clients.size });
      }
      return new Response('not found', { status: 404 });
    },
    websocket: handler as any,
  });
  process.stdout.write(`READY ${server.port} ${process.pid}\n`);
}

async function stop() {
  try {
    await helper.shutdown();
  } catch {}
  server.stop(true);
  await redis.getClient().quit().catch(() => {});
  process.exit(0);
}
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());

main().catch(err => {
  console.error('server.ts: fatal:', err);
  process.exit(1);
});

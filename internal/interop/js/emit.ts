// emit.ts: drives the REAL upstream WebSocketEmitter (@venizia/ignis-helpers)
// from the echows interop tests. Run under Bun:
//
//   REDIS_HOST=127.0.0.1 REDIS_PORT=6390 bun emit.ts [COMMANDS_JSON]
//
// Commands are JSON objects, one per line on stdin, or a JSON array given as
// the first argument (then stdin is not read):
//
//   {"op":"toClient","clientId":"<id>","event":"e","data":{...}}
//   {"op":"toUser","userId":"<id>","event":"e","data":{...}}
//   {"op":"toRoom","room":"r","event":"e","data":{...},"exclude":["<id>"]}
//   {"op":"broadcast","event":"e","data":{...}}
//
// A missing "data" / "exclude" key is passed as undefined (as a TypeScript
// caller leaving it out would), an explicit value is passed as is.
//
// Output on stdout, one line each (upstream's own logs also go to stdout, so
// readers must match on these prefixes):
//   READY                      once emitter.configure() resolved
//   OK <n> <op>                after command n (1-based) was published
//   ERR <n> <message>          when command n failed (exit code is then 1)
// On end of input (or after the argv commands) the emitter is shut down and
// the process exits 0 (1 if any command failed).

import { RedisHelper, WebSocketEmitter } from '@venizia/ignis-helpers';

const host = process.env.REDIS_HOST ?? '127.0.0.1';
const port = process.env.REDIS_PORT;
if (!port) {
  console.error('emit.ts: REDIS_PORT is required');
  process.exit(2);
}

// maxRetry -1: retry forever. Upstream's default (0) never reconnects after a
// lost connection (quirk: the default RedisHelper gives up on the first error).
const redis = new RedisHelper({
  name: 'interop-emitter-redis',
  host,
  port,
  password: process.env.REDIS_PASSWORD || undefined,
  autoConnect: true,
  maxRetry: -1,
});

const emitter = new WebSocketEmitter({ identifier: 'interop-emitter', redisConnection: redis });

function out(line: string) {
  process.stdout.write(line + '\n');
}

type Cmd = {
  op: string;
  clientId?: string;
  userId?: string;
  room?: string;
  event: string;
  data?: unknown;
  exclude?: string[];
};

async function run(cmd: Cmd): Promise<void> {
  switch (cmd.op) {
    case 'toClient':
      return emitter.toClient({ clientId: cmd.clientId!, event: cmd.event, data: cmd.data });
    case 'toUser':
      return emitter.toUser({ userId: cmd.userId!, event: cmd.event, data: cmd.data });
    case 'toRoom': {
      const opts: any = { room: cmd.room!, event: cmd.event, data: cmd.data };
      if ('exclude' in cmd) opts.exclude = cmd.exclude;
      return emitter.toRoom(opts);
    }
    case 'broadcast':
      return emitter.broadcast({ event: cmd.event, data: cmd.data });
    default:
      throw new Error(`unknown op ${JSON.stringify(cmd.op)}`);
  }
}

let failed = false;
let n = 0;
async function handle(text: string) {
  n++;
  const idx = n;
  try {
    const cmd = JSON.parse(text) as Cmd;
    await run(cmd);
    out(`OK ${idx} ${cmd.op}`);
  } catch (err) {
    failed = true;
    out(`ERR ${idx} ${String((err as Error)?.message ?? err).replace(/\n/g, ' ')}`);
  }
}

async function main() {
  await emitter.configure();
  out('READY');

  if (process.argv[2]) {
    const cmds = JSON.parse(process.argv[2]);
    for (const c of Array.isArray(cmds) ? cmds : [cmds]) {
      await handle(JSON.stringify(c));
    }
  } else {
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of Bun.stdin.stream()) {
      buf += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line) await handle(line);
      }
    }
    if (buf.trim()) await handle(buf.trim());
  }

  await emitter.shutdown();
  await redis.getClient().quit().catch(() => {});
  process.exit(failed ? 1 : 0);
}

main().catch(err => {
  console.error('emit.ts: fatal:', err);
  process.exit(1);
});

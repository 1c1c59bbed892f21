// Compiled by TestTypeDeclarations with tsc --strict: the declarations in
// ../echows.d.ts must accept what README.md shows, and refuse misuse (the
// lines marked @ts-expect-error fail the build when they type-check).
import { EchowsClient, EchowsError, State, closePolicy } from '../echows.js';
import type { CloseInfo, Connected, QueuedMessage } from '../echows.js';

interface Chat { room: string; from: string; text: string; time: string }
interface ServerEvents { chat: Chat; 'job:progress': { job: string; percent: number } }

const client = new EchowsClient<ServerEvents, { token: string }>({
  url: '/ws',
  credentials: async () => ({ token: 'secret' }),
  heartbeatInterval: 30000,
  reconnect: { minDelay: 500, maxDelay: 30000, factor: 2, jitter: 0.5 },
  queueLimit: 100,
});

const off = client.on('state', (state: State, previous: State, text: string) => {
  if (state === State.RECONNECTING && client.retryIn !== null) console.log(previous, text, client.retryIn);
});
off();
client.on('close', (info: CloseInfo) => {
  const code: number | undefined = info.code;
  console.log(code, info.reason, info.error, info.message, info.reconnect, info.delay, info.retryAt);
});
client.on('queue', (pending: QueuedMessage[], change) => {
  console.log(pending.length, change.added, change.sent, change.dropped);
});
client.on('chat', (msg) => {
  const text: string = msg.text; // typed by ServerEvents
  console.log(text);
});
client.once('job:progress', ({ percent }) => console.log(percent.toFixed(0)));
client.on('anything-else', (data, message) => console.log(data, message.event));
client.on('error', ({ message }) => console.warn(message));
client.on('*', (event, data) => console.log(event, data));

// @ts-expect-error: percent is a number
client.on('job:progress', (d: { percent: string }) => console.log(d));
// @ts-expect-error: credentials must be the declared type
new EchowsClient<ServerEvents, { token: string }>({ credentials: { name: 'x' } });
// @ts-expect-error: reconnect is options or false
new EchowsClient({ reconnect: true });

async function main(): Promise<void> {
  try {
    const me: Connected = await client.connect();
    console.log(me.id, me.userId ?? 'anonymous', me.time);
  } catch (err) {
    if (err instanceof EchowsError) console.log(err.message, err.code, err.reason, err.error);
  }
  client.join(['lobby', 'news']);
  client.join('ops');
  client.leave('news');
  const sent: boolean = client.send('chat', { room: 'lobby', text: 'hi' });
  if (!sent) console.log(client.pending.at(-1)?.queuedAt);
  console.log(client.state, client.statusText, client.id, client.userId, client.rooms, client.lastClose?.message, client.retryAt);
  client.retry();
  client.close(1000, 'bye');
  const p = closePolicy(4003, { error: 'Authentication error' });
  console.log(p.reconnect, p.pace, p.message);
}
void main();

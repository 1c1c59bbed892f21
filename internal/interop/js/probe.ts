// probe.ts: a raw WebSocket client for looking at what a server sends, byte
// for byte. Used to record internal/interop/testdata/upstream-frames.md. Run:
//
//   bun probe.ts ws://127.0.0.1:PORT/ws < script
//
// script: one step per line:
//   text <raw>        send <raw> as a text frame, verbatim
//   binary <raw>      send the UTF-8 bytes of <raw> as a binary frame
//   wait <ms>         wait (for output only; this is a manual tool)
//   close [code [reason]]
// Every received frame is printed as `RECV <type> <JSON.stringify(raw)>` and
// the close as `CLOSE <code> <JSON.stringify(reason)> wasClean=<bool>`.

const url = process.argv[2];
if (!url) {
  console.error('usage: bun probe.ts ws://host:port/ws < script');
  process.exit(2);
}
const t0 = Date.now();
const stamp = () => String(Date.now() - t0).padStart(5, ' ') + 'ms';

const ws = new WebSocket(url);
ws.binaryType = 'arraybuffer';
const closed = new Promise<void>(resolve => {
  ws.onclose = ev => {
    console.log(`${stamp()} CLOSE ${ev.code} ${JSON.stringify(ev.reason)} wasClean=${ev.wasClean}`);
    resolve();
  };
});
ws.onmessage = ev => {
  if (typeof ev.data === 'string') {
    console.log(`${stamp()} RECV text ${JSON.stringify(ev.data)}`);
  } else {
    const s = new TextDecoder().decode(ev.data as ArrayBuffer);
    console.log(`${stamp()} RECV binary ${JSON.stringify(s)}`);
  }
};
await new Promise<void>((resolve, reject) => {
  ws.onopen = () => resolve();
  ws.onerror = e => reject(new Error('connect failed: ' + String((e as any).message ?? e)));
});
console.log(`${stamp()} OPEN`);

const text = await new Response(Bun.stdin.stream()).text();
for (const line of text.split('\n')) {
  if (!line.trim()) continue;
  const sp = line.indexOf(' ');
  const cmd = sp < 0 ? line : line.slice(0, sp);
  const arg = sp < 0 ? '' : line.slice(sp + 1);
  if (ws.readyState !== WebSocket.OPEN) break;
  switch (cmd) {
    case 'text':
      console.log(`${stamp()} SEND text ${JSON.stringify(arg)}`);
      ws.send(arg);
      break;
    case 'binary':
      console.log(`${stamp()} SEND binary ${JSON.stringify(arg)}`);
      ws.send(new TextEncoder().encode(arg));
      break;
    case 'wait':
      await new Promise(r => setTimeout(r, Number(arg)));
      break;
    case 'close': {
      const [code, ...reason] = arg.split(' ').filter(Boolean);
      ws.close(code ? Number(code) : undefined, reason.join(' ') || undefined);
      break;
    }
    default:
      console.error('unknown step: ' + line);
  }
}
await Promise.race([closed, new Promise(r => setTimeout(r, 500))]);
process.exit(0);

// The server's live status panel: connections, messages per second and the
// broker's state, from GET /status (examples/chat/status.go), refreshed
// every second. Self-contained: it adds its own element (#server-status) to
// the header, or to the page when there is no header, and its own styles;
// index.html only loads it.
const every = 1000;

const css = `
#server-status { display: flex; align-items: center; gap: 0.9rem; font-size: 0.8rem; color: var(--muted, #6b7385); }
#server-status b { color: var(--ink, #1d2330); font-weight: 600; font-variant-numeric: tabular-nums; }
#server-status .broker { padding: 0.15rem 0.6rem; border-radius: 999px; background: var(--line, #e2e5eb); }
#server-status .broker[data-state="live"] { background: #e3f6ec; color: var(--ok, #1e9e5a); }
#server-status .broker[data-state="reconnecting"], #server-status .broker[data-state="not delivering"] { background: #fde8e8; color: var(--bad, #d33a3a); }
#server-status .broker[data-state="unreachable"] { background: #fff3dc; color: var(--warn, #d98b00); }
`;

function mount() {
  const style = document.createElement('style');
  style.textContent = css;
  document.head.append(style);
  const panel = document.createElement('div');
  panel.id = 'server-status';
  panel.setAttribute('role', 'status');
  panel.title = 'this server, live (GET /status)';
  panel.innerHTML = `
    <span>connections <b data-field="connections">–</b></span>
    <span>messages/s <b data-field="messagesPerSecond">–</b></span>
    <span class="broker" data-field="broker" data-state="">broker –</span>`;
  const header = document.querySelector('header');
  if (header) {
    header.insertBefore(panel, header.querySelector('.connection'));
  } else {
    document.body.prepend(panel);
  }
  return panel;
}

function show(panel, s) {
  const field = (name) => panel.querySelector(`[data-field="${name}"]`);
  if (!s) {
    field('broker').dataset.state = 'unreachable';
    field('broker').textContent = 'server unreachable';
    return;
  }
  field('connections').textContent = String(s.connections);
  field('messagesPerSecond').textContent = s.messagesPerSecond.toFixed(1);
  const broker = field('broker');
  broker.dataset.state = s.brokerState;
  broker.textContent = `broker ${s.broker} · ${s.brokerState}`;
  panel.dataset.instance = s.instance;
}

async function refresh(panel) {
  try {
    const resp = await fetch('/status', { cache: 'no-store' });
    show(panel, resp.ok ? await resp.json() : null);
  } catch {
    show(panel, null);
  }
}

const panel = mount();
refresh(panel);
setInterval(() => refresh(panel), every);

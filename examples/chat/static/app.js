// The chat page: the UI around EchowsClient (browser/echows.js, served at
// /echows.js). The chat's own events (chat, who, here, bye, presence) are
// described in examples/chat/hooks.go.
import { EchowsClient, State } from './echows.js';

const $ = (selector) => document.querySelector(selector);
const roomPattern = /^[a-z0-9-]{1,32}$/;
const firstRoom = 'lobby';

let client = null;
let current = null; // the room on screen
// room name → {item: <li> in #rooms, log: <ol> in #messages,
// members: Map(client id → user), stale: members not confirmed since the
// last reconnect, unread: messages that came while another room was open}
const rooms = new Map();
// queued message (an entry of client.pending) → its <li>, marked pending
const pendingItems = new Map();

// For the curious (and the end-to-end test): window.chat.client in devtools.
window.chat = { get client() { return client; }, rooms };

const pillText = {
  [State.IDLE]: 'not connected',
  [State.CONNECTING]: 'connecting…',
  [State.AUTHENTICATING]: 'authenticating…',
  [State.OPEN]: 'connected',
  [State.RECONNECTING]: 'reconnecting…',
  [State.CLOSED]: 'disconnected',
};

// --- connecting ---

$('#login-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const name = $('#name').value.trim();
  if (!name || client) return;
  show($('#login-error'), false);
  const c = new EchowsClient({ url: '/ws', credentials: () => ({ name }) });
  client = c;
  listen(c);
  $('#connect').disabled = true;
  $('#connect').textContent = 'Connecting…';
  try {
    await c.connect();
  } catch (err) {
    if (c === client) loginFailed(err.code === 1000 ? '' : `${err.message}.`); // 1000: Cancel
    return;
  }
  show($('#login'), false);
  show($('#chat'), true);
  $('#whoami').textContent = name;
  enterRoom(firstRoom);
  $('#text').focus();
});

$('#login-status .cancel').addEventListener('click', () => client?.close());
for (const button of document.querySelectorAll('.status .retry')) {
  button.addEventListener('click', () => client?.retry());
}

// loginFailed shows the login card again, with why (when there is a why).
function loginFailed(message) {
  client = null;
  for (const r of rooms.values()) {
    r.item.remove();
    r.log.remove();
  }
  rooms.clear();
  pendingItems.clear();
  current = null;
  $('#login-error').textContent = message;
  show($('#login-error'), message !== '');
  show($('#login-status'), false);
  show($('#login'), true);
  show($('#chat'), false);
  $('#connect').disabled = false;
  $('#connect').textContent = 'Connect';
  $('#whoami').textContent = '';
}

function listen(c) {
  c.on('state', (state) => {
    const pill = $('#state');
    pill.dataset.state = state;
    pill.textContent = pillText[state] ?? state;
    if (state !== State.OPEN) {
      for (const r of rooms.values()) {
        r.item.dataset.joined = 'false';
        r.stale = true;
      }
      renderMembers();
    }
    renderStatus();
  });
  let sessions = 0;
  c.on('connected', ({ id }) => {
    $('#client-id').textContent = id;
    if (sessions++ > 0) notify('Reconnected.');
    // After a reconnect the client has joined its rooms again (before this
    // event): ask who is there, which also tells them we are back.
    for (const room of rooms.keys()) c.send('who', { room });
  });
  c.on('close', ({ reconnect, message }) => {
    $('#client-id').textContent = '';
    if (!reconnect && c === client && !$('#chat').hidden) loginFailed(`${message}.`);
  });
  c.on('queue', (pending, { sent, dropped }) => {
    for (const m of sent) markPending(m, 'sent');
    for (const m of dropped) markPending(m, 'failed');
  });
  c.on('error', ({ message }) => notify(message, true));
  c.on('chat', (msg) => addMessage(msg));
  c.on('who', onWho);
  c.on('presence', onPresence);
  c.on('announcement', ({ room, text, from }) => addLine(room, `${from ?? 'announcement'}: ${text}`, 'announcement'));
  c.on('job:progress', onJobProgress);
}

// --- the connection in words, where the person looks ---

// renderStatus updates the status line of the login card (while
// connecting) or the banner above the messages (in the chat): the reason in
// words and when the next attempt comes.
function renderStatus() {
  const c = client;
  const inChat = !$('#chat').hidden;
  const box = inChat ? $('#banner') : $('#login-status');
  const visible = c !== null && c.state !== State.OPEN && c.state !== State.CLOSED &&
    (inChat || c.state === State.RECONNECTING);
  show(box, visible);
  if (!visible) return;
  let text = c.statusText;
  if (c.state === State.RECONNECTING) {
    const wait = c.retryIn;
    text += wait === null ? '. Trying again now…' : `. Trying again in ${Math.max(1, Math.ceil(wait / 1000))} s.`;
  } else {
    text += '…';
  }
  box.querySelector('.text').textContent = text;
  show(box.querySelector('.retry'), c.retryAt !== null);
  box.dataset.state = c.state;
}

setInterval(renderStatus, 250); // the countdown

// --- rooms ---

$('#join-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const room = $('#room').value.trim().toLowerCase();
  if (!roomPattern.test(room)) {
    notify('A room name has 1 to 32 lowercase letters, digits or dashes.', true);
    return;
  }
  $('#room').value = '';
  enterRoom(room);
});

function enterRoom(room) {
  if (!rooms.has(room)) {
    const item = document.createElement('li');
    item.dataset.room = room;
    item.dataset.joined = 'false';
    const open = document.createElement('button');
    open.className = 'open';
    open.append(span('name', '#' + room), span('unread', ''));
    open.addEventListener('click', () => select(room));
    const leave = document.createElement('button');
    leave.className = 'leave';
    leave.textContent = '×';
    leave.title = 'leave #' + room;
    leave.setAttribute('aria-label', 'leave #' + room);
    leave.addEventListener('click', () => leaveRoom(room));
    item.append(open, leave);
    $('#rooms').append(item);

    const log = document.createElement('ol');
    log.className = 'log';
    log.dataset.room = room;
    $('#messages').append(log);

    rooms.set(room, { item, log, members: new Map(), stale: true, unread: 0 });
    client.join(room);
    client.send('who', { room }); // handled after the join: messages keep their order
  }
  select(room);
}

function leaveRoom(room) {
  const r = rooms.get(room);
  if (!r) return;
  if (client.state === State.OPEN) client.send('bye', { room });
  client.leave(room);
  r.item.remove();
  r.log.remove();
  rooms.delete(room);
  if (current === room) select(rooms.keys().next().value ?? null);
}

function select(room) {
  current = room;
  for (const [name, r] of rooms) {
    r.item.classList.toggle('current', name === room);
    show(r.log, name === room);
  }
  const r = rooms.get(room);
  if (r) setUnread(r, 0);
  $('#text').placeholder = room ? `Message #${room}` : 'Join a room first';
  renderMembers();
}

function setUnread(r, n) {
  r.unread = n;
  r.item.classList.toggle('has-unread', n > 0);
  r.item.querySelector('.unread').textContent = n > 0 ? String(n) : '';
}

function onWho({ room, joined, members }) {
  const r = rooms.get(room);
  if (!r) return;
  if (!joined) {
    notify(`The server refused to let you join #${room}.`, true);
    leaveRoom(room);
    return;
  }
  r.item.dataset.joined = 'true';
  // The members on our instance; the others answer our announcement.
  r.members = new Map(members.map((m) => [m.client, m.user]));
  r.stale = false;
  renderMembers();
}

function onPresence({ room, user, client: id, status }) {
  const r = rooms.get(room);
  if (!r) return;
  const wasThere = [...r.members.values()].includes(user);
  if (status === 'left') {
    r.members.delete(id);
    if (wasThere && ![...r.members.values()].includes(user)) addLine(room, `${user} left`);
  } else {
    r.members.set(id, user);
    if (status === 'joined') {
      if (!wasThere) addLine(room, `${user} joined`);
      client.send('here', { room, to: id }); // so they see us too
    }
  }
  if (room === current) renderMembers();
}

// renderMembers lists the current room's members; greyed out while they
// are not confirmed (from the connection's loss to the answer to "who").
function renderMembers() {
  const list = $('#members');
  list.replaceChildren();
  $('#members-room').textContent = current ? '#' + current : '—';
  const r = rooms.get(current);
  const stale = !r || r.stale;
  list.classList.toggle('stale', stale);
  $('#members-hint').textContent = stale && client?.state !== State.OPEN
    ? 'Who was here when the connection was lost.'
    : 'Everyone in the room, on every instance.';
  if (!r) return;
  const users = [...new Set(r.members.values())].sort();
  for (const user of users) {
    const li = document.createElement('li');
    li.textContent = user;
    if (user === client.userId || user === $('#whoami').textContent) li.classList.add('me');
    list.append(li);
  }
}

// --- messages ---

$('#send-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const text = $('#text').value.trim();
  if (!text || !current) return;
  try {
    if (!client.send('chat', { room: current, text })) addPending(client.pending.at(-1));
    $('#text').value = '';
  } catch (err) { // the queue is full: keep what was typed
    notify(err.message, true);
  }
});

// addPending shows a message that waits for the connection in its room.
function addPending(entry) {
  const { room, text } = entry.data;
  const r = rooms.get(room);
  if (!r) return;
  const li = document.createElement('li');
  li.className = 'msg mine pending';
  li.dataset.status = 'waiting';
  li.append(span('time', clock(entry.queuedAt)), span('from', $('#whoami').textContent),
    span('text', text), span('note', 'waiting for the connection'));
  pendingItems.set(entry, li);
  append(r.log, li);
}

// markPending: 'sent' once written to the new connection (it shows as a
// message when the room echoes it), 'failed' when it was dropped.
function markPending(entry, status) {
  const li = pendingItems.get(entry);
  if (!li) return;
  li.dataset.status = status;
  li.querySelector('.note').textContent = status === 'sent' ? 'sending…' : 'not sent';
  if (status === 'failed') pendingItems.delete(entry);
}

function addMessage({ room, from, text, time }) {
  const r = rooms.get(room);
  if (!r) return;
  if (from === client.userId) { // our own message back: it replaces its pending line
    for (const [entry, li] of pendingItems) {
      if (li.dataset.status === 'sent' && entry.data.room === room && entry.data.text === text) {
        pendingItems.delete(entry);
        li.remove();
        break;
      }
    }
  }
  const li = document.createElement('li');
  li.className = 'msg';
  if (from === client.userId) li.classList.add('mine');
  li.append(span('time', clock(time)), span('from', from), span('text', text));
  append(r.log, li);
  if (room !== current) setUnread(r, r.unread + 1);
}

function addLine(room, text, kind = 'system') {
  const r = rooms.get(room) ?? rooms.get(current);
  if (!r) return;
  const li = document.createElement('li');
  li.className = kind;
  li.append(span('time', clock()), span('text', text));
  append(r.log, li);
  if (kind === 'announcement' && r !== rooms.get(current)) setUnread(r, r.unread + 1);
}

function append(log, li) {
  const end = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  log.append(li);
  if (end) log.scrollTop = log.scrollHeight;
}

// --- jobs pushed by examples/worker ---

function onJobProgress({ job, percent, status }) {
  let row = document.querySelector(`#jobs [data-job="${CSS.escape(job)}"]`);
  if (!row) {
    row = document.createElement('div');
    row.className = 'job';
    row.dataset.job = job;
    const bar = document.createElement('progress');
    bar.max = 100;
    row.append(span('name', job), span('percent', ''), bar);
    $('#jobs').append(row);
    show($('#jobs-title'), true);
  }
  row.querySelector('progress').value = percent;
  row.querySelector('.percent').textContent = status === 'done' ? 'done' : `${percent}%`;
  row.dataset.status = status;
}

// --- helpers ---

let noticeTimer = null;

function notify(text, isError = false) {
  const n = $('#notice');
  n.textContent = text;
  n.classList.toggle('error', isError);
  show(n, true);
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => show(n, false), 6000);
}

function span(className, text) {
  const s = document.createElement('span');
  s.className = className;
  s.textContent = text;
  return s;
}

function clock(time) {
  const d = time ? new Date(time) : new Date();
  return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}

function show(el, visible) {
  el.hidden = !visible;
}

// The chat page: the UI around EchowsClient. The chat's own events (chat,
// who, here, bye, presence) are described in examples/chat/hooks.go.
import { EchowsClient, State } from './echows.js';

const $ = (selector) => document.querySelector(selector);
const roomPattern = /^[a-z0-9-]{1,32}$/;
const firstRoom = 'lobby';

let client = null;
let current = null; // the room on screen
// room name → {item: <li> in #rooms, log: <ol> in #messages, members: Map(client id → user)}
const rooms = new Map();

// For the curious (and the end-to-end test): window.chat.client in devtools.
window.chat = { get client() { return client; }, rooms };

const stateText = {
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
  client = new EchowsClient({ url: '/ws', credentials: () => ({ name }) });
  listen(client);
  try {
    await client.connect();
  } catch (err) {
    loginFailed(err.message);
    return;
  }
  show($('#login'), false);
  show($('#chat'), true);
  $('#whoami').textContent = name;
  enterRoom(firstRoom);
  $('#text').focus();
});

function loginFailed(message) {
  client = null;
  $('#login-error').textContent = message;
  show($('#login-error'), true);
  show($('#login'), true);
  show($('#chat'), false);
}

function listen(c) {
  c.on('state', (state) => {
    const pill = $('#state');
    pill.dataset.state = state;
    pill.textContent = stateText[state] ?? state;
    if (state !== State.OPEN) {
      for (const r of rooms.values()) r.item.dataset.joined = 'false';
    }
  });
  let sessions = 0;
  c.on('connected', ({ id }) => {
    $('#client-id').textContent = id;
    if (sessions++ > 0) notify('Reconnected.');
    // After a reconnect the client has joined its rooms again (before this
    // event): ask who is there, which also tells them we are back.
    for (const room of rooms.keys()) c.send('who', { room });
  });
  c.on('close', ({ code, reason, reconnect, delay }) => {
    $('#client-id').textContent = '';
    if (reconnect) {
      notify(`Connection lost (${code}${reason ? ' ' + reason : ''}). Reconnecting in ${(delay / 1000).toFixed(1)} s…`);
    } else if (c === client && !$('#chat').hidden) {
      loginFailed(`Disconnected (${code ?? 'no code'}${reason ? ' ' + reason : ''}).`);
    }
  });
  c.on('error', ({ message }) => notify(message, true));
  c.on('chat', (msg) => addMessage(msg));
  c.on('who', onWho);
  c.on('presence', onPresence);
  c.on('announcement', ({ room, text, from }) => addLine(room, `${from ?? 'announcement'}: ${text}`, 'announcement'));
  c.on('job:progress', onJobProgress);
}

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
    open.textContent = '#' + room;
    open.addEventListener('click', () => select(room));
    const leave = document.createElement('button');
    leave.className = 'leave';
    leave.textContent = '×';
    leave.title = 'leave #' + room;
    leave.addEventListener('click', () => leaveRoom(room));
    item.append(open, leave);
    $('#rooms').append(item);

    const log = document.createElement('ol');
    log.className = 'log';
    log.dataset.room = room;
    $('#messages').append(log);

    rooms.set(room, { item, log, members: new Map() });
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
  $('#text').placeholder = room ? `Message #${room}` : 'Join a room first';
  renderMembers();
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

function renderMembers() {
  const list = $('#members');
  list.replaceChildren();
  $('#members-room').textContent = current ? '#' + current : '—';
  const r = rooms.get(current);
  if (!r) return;
  const users = [...new Set(r.members.values())].sort();
  for (const user of users) {
    const li = document.createElement('li');
    li.textContent = user;
    if (user === client.userId) li.classList.add('me');
    list.append(li);
  }
}

// --- messages ---

$('#send-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const text = $('#text').value.trim();
  if (!text || !current) return;
  try {
    if (!client.send('chat', { room: current, text })) notify('Not connected: the message goes out when the connection is back.');
    $('#text').value = '';
  } catch (err) {
    notify(err.message, true);
  }
});

function addMessage({ room, from, text, time }) {
  const r = rooms.get(room);
  if (!r) return;
  const li = document.createElement('li');
  li.className = 'msg';
  if (from === client.userId) li.classList.add('mine');
  li.append(span('time', clock(time)), span('from', from), span('text', text));
  append(r.log, li);
}

function addLine(room, text, kind = 'system') {
  const r = rooms.get(room) ?? rooms.get(current);
  if (!r) return;
  const li = document.createElement('li');
  li.className = kind;
  li.append(span('time', clock()), span('text', text));
  append(r.log, li);
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

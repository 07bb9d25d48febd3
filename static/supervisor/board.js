// The supervisor's escalation board: every open and in-hand escalation with
// a live response clock against the target; overdue ones stand out.
import { io } from "/static/vendor/socket.io.esm.min.js";
import { keepSignedInWhileActive } from "/static/console/keepalive.js";
import { startTeamPanel } from "/static/supervisor/team.js";
import { Monitor } from "/static/supervisor/monitor.js";
import { $, button, cell } from "/static/shared/dom.js";
import { clock as clockText } from "/static/shared/i18n.js";
import { request } from "/static/shared/socket.js";
import { errorText, format, levelBadge, readStrings } from "/static/shared/transcript.js";

const strings = readStrings();
const target = Number(document.body.dataset.targetSeconds);
let snapshot = { open: [], acknowledged: [] };

keepSignedInWhileActive();
const socket = io("/console");
startTeamPanel(socket, strings);
new Monitor(socket, strings);
socket.on("connect", () => { $("connection").textContent = strings.connected; });
socket.on("disconnect", () => { $("connection").textContent = strings.offline; });
// The console queue carries callbacks; those whose window has closed are
// overdue. Worked out against the clock, so one turns overdue on time.
let callbackItems = [];
socket.on("queue", (payload) => {
  callbackItems = payload.items.filter((item) => item.kind === "callback");
  renderOverdue();
  renderWaiting(payload);
});

// How many wait, at each level: the surge is seen coming, not heard about.
function renderWaiting(payload) {
  const counts = payload.counts || {};
  const parts = ["crisis", "high", "moderate", "low"]
    .filter((level) => counts[level])
    .map((level) => `${strings.levels[level] || level} ${counts[level]}`);
  $("waiting-total").textContent = payload.total ?? payload.items.length;
  $("waiting-levels").textContent = parts.join(" · ");
}

// Chats whose resident has waited past the response clock, longest first.
function renderQuiet(quiet) {
  $("quiet").replaceChildren(...quiet.map((chat) => {
    const tr = document.createElement("tr");
    tr.className = "overdue";
    const link = document.createElement("a");
    link.href = `/supervisor/conversations/${chat.conversation_id}`;
    link.textContent = `#${chat.conversation_id}`;
    const since = chat.waiting_since ? new Date(chat.waiting_since) : new Date();
    tr.append(
      cell(link),
      cell(levelBadge(chat.risk_level, strings.levels)),
      cell(clockText(Math.max(0, Math.floor((Date.now() - since) / 1000)))),
      cell(chat.holder || ""),
    );
    return tr;
  }));
  $("quiet-count").textContent = quiet.length;
  $("quiet-empty").hidden = quiet.length > 0;
}

function renderOverdue() {
  const now = Date.now();
  const overdue = callbackItems.filter(
    (item) => new Date(item.callback.window_end).getTime() < now,
  );
  const time = (iso) => new Date(iso).toLocaleTimeString(document.documentElement.lang, {
    hour: "2-digit", minute: "2-digit", timeZone: document.body.dataset.timezone,
  });
  $("overdue-callbacks").replaceChildren(...overdue.map((item) => {
    const tr = document.createElement("tr");
    tr.className = "overdue";
    const link = document.createElement("a");
    link.href = `/supervisor/conversations/${item.conversation_id}`;
    link.textContent = `#${item.conversation_id}`;
    tr.append(
      cell(link),
      cell(levelBadge(item.risk_level, strings.levels)),
      cell(`${time(item.callback.window_start)}–${time(item.callback.window_end)}`),
      cell(String(item.callback.attempts)),
      cell(item.callback.phone_masked),
    );
    return tr;
  }));
  $("overdue-count").textContent = overdue.length;
  $("overdue-empty").hidden = overdue.length > 0;
}
setInterval(renderOverdue, 15000);

socket.on("escalations", (payload) => {
  snapshot = payload;
  render();
  renderQuiet(payload.quiet || []);
});
// The quiet list changes when counsellors answer, which pushes nothing:
// ask again now and then.
setInterval(async () => {
  if (!socket.connected) return;
  const ack = await request(socket, "escalations");
  if (ack?.ok) renderQuiet(ack.quiet || []);
}, 20000);

function elapsed(item) {
  const end = item.acknowledged_at ? new Date(item.acknowledged_at) : new Date();
  return Math.max(0, Math.floor((end - new Date(item.opened_at)) / 1000));
}

async function act(event, payload) {
  const ack = await request(socket, event, payload);
  if (!ack.ok) window.alert(errorText(strings, ack.error));
}

function row(item) {
  const tr = document.createElement("tr");
  tr.dataset.escalationId = item.escalation_id;
  const seconds = elapsed(item);
  tr.className = `state-${item.state}${seconds > target && !item.acknowledged_at ? " overdue" : ""}`;
  const link = document.createElement("a");
  link.href = `/supervisor/conversations/${item.conversation_id}`;
  link.textContent = `#${item.conversation_id}`;
  const clock = document.createElement("span");
  clock.className = "clock";
  clock.textContent = clockText(seconds);
  if (seconds > target && !item.acknowledged_at) clock.append(` · ${strings.overdue}`);
  const actions = document.createElement("span");
  actions.className = "actions";
  if (item.state === "open") {
    actions.append(button(strings.acknowledge,
      () => act("acknowledge", { escalation_id: item.escalation_id }), "primary"));
  } else {
    actions.append(button(strings.assign, () => act("assign", {
      escalation_id: item.escalation_id, assignee_id: Number($("assignee").value),
    })));
  }
  // An escalation whose chat ended cannot be joined: say so on its row.
  const state = strings.escalation_states[item.state] || item.state;
  const ended = ["closed", "left"].includes(item.conversation_state);
  tr.append(
    cell(link),
    cell(levelBadge(item.level, strings.levels)),
    cell(ended ? `${state} · ${strings.chat_ended}` : state),
    cell(clock),
    cell(item.assignee || ""),
    cell(actions),
  );
  return tr;
}

function render() {
  const items = [...snapshot.open, ...snapshot.acknowledged]
    .sort((a, b) => new Date(a.opened_at) - new Date(b.opened_at));
  $("board").replaceChildren(...items.map(row));
  $("board-empty").hidden = items.length > 0;
}

$("transcript-form").addEventListener("submit", (event) => {
  event.preventDefault();
  window.location.assign(`/supervisor/conversations/${Number($("transcript-id").value)}`);
});
setInterval(render, 1000);

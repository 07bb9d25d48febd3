// The counsellor console: live queue ordered by risk, claimed conversations,
// replies with acknowledgements, notes, triage corrections, escalations with
// alerts, release and wrap-up. Resyncs after reconnects.
import { io } from "/static/vendor/socket.io.esm.min.js";
import { startAlerts, stopAlerts } from "/static/console/alerts.js";
import { CallPanel, callbackQueueDetails } from "/static/console/callbacks.js";
import { initQuickReplies } from "/static/console/canned.js";
import { Wellbeing } from "/static/console/wellbeing.js";
import { keepSignedInWhileActive } from "/static/console/keepalive.js";
import { ResourcePanel } from "/static/console/referrals.js";
import { Transfers } from "/static/console/transfers.js";
import { roleMay } from "/static/shared/config.js";
import { $, button } from "/static/shared/dom.js";
import { Outbox } from "/static/shared/outbox.js";
import { ACK_TIMEOUT_MS, request as ask } from "/static/shared/socket.js";
import { clock as formatClock, plural } from "/static/shared/i18n.js";
import {
  Transcript, errorText, format, levelBadge, readStrings,
} from "/static/shared/transcript.js";

const TOAST_SECONDS = 4;
const strings = readStrings();
const userId = document.body.dataset.userId;
const isResponder = roleMay("respond");

const held = new Map(); // conversation_id -> {state, transcript, unread (a count)}
let queueItems = [];
// How many wait in all: the server sends only the first page of the queue.
let queueTotal = 0;
let selectedId = null;

keepSignedInWhileActive();
const socket = io("/console");
const outbox = new Outbox(`hotline.console.${userId}.outbox`, (item) =>
  socket.timeout(ACK_TIMEOUT_MS).emitWithAck("message", {
    conversation_id: item.conversation_id, client_id: item.client_id, body: item.body,
  }),
);

function request(event, payload) {
  return ask(socket, event, payload);
}

function toast(text) {
  const node = $("toast");
  node.textContent = text;
  node.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { node.hidden = true; }, TOAST_SECONDS * 1000);
}

function waitingLabel(since) {
  const minutes = Math.floor((Date.now() - new Date(since).getTime()) / 60000);
  return minutes < 1 ? strings.just_now : format(strings.waiting_for, { minutes });
}

function renderQueue() {
  const list = $("queue");
  list.replaceChildren(...queueItems.map((item) => {
    const li = document.createElement("li");
    li.className = "queue-item";
    li.dataset.conversationId = item.conversation_id;
    const title = document.createElement("strong");
    title.textContent = format(strings.conversation, { id: item.conversation_id });
    const isCallback = item.kind === "callback";
    const meta = document.createElement("span");
    meta.className = "meta";
    // A callback's waiting_since is when it may be rung, not how long it waited.
    meta.textContent = [
      strings[`lang_${item.lang}`] || item.lang,
      ...(isCallback ? [] : [
        waitingLabel(item.waiting_since),
        plural("messages", item.message_count, {}, strings.messages_count),
      ]),
    ].join(" · ");
    const preview = document.createElement("p");
    preview.className = "preview";
    preview.textContent = item.preview;
    const tags = document.createElement("div");
    tags.className = "tags";
    tags.append(
      tag(strings[`kind_${item.kind}`], `kind-tag kind-${item.kind}`),
      levelBadge(item.risk_level, strings.levels),
      ...item.signals.map((kind) => tag(strings.signals[kind] || kind, "signal-tag")),
      ...item.needs.map((need) => tag(strings.needs[need] || need, "need-tag")),
    );
    li.dataset.level = item.risk_level;
    li.dataset.kind = item.kind;
    const claim = document.createElement("button");
    claim.type = "button";
    claim.className = "primary claim";
    claim.textContent = strings.claim;
    claim.disabled = wellbeing.onBreak;
    claim.addEventListener("click", () => claimConversation(item.conversation_id, claim));
    li.append(title, tags, meta);
    if (isCallback) li.append(callbackQueueDetails(item, strings));
    li.append(preview, claim);
    return li;
  }));
  $("queue-count").textContent = queueTotal;
  $("queue-empty").hidden = queueItems.length > 0;
  renderTitle();
}

// The tab's title counts who waits and what is unread, so a glance at the
// tab bar is enough: "(3 waiting · 2 unread) Console · Hotline".
const pageTitle = document.title;
function renderTitle() {
  const unread = [...held.values()].reduce((sum, entry) => sum + entry.unread, 0);
  const parts = [
    queueTotal ? plural("title_waiting", queueTotal) : "",
    unread ? plural("title_unread", unread) : "",
  ].filter(Boolean);
  const title = parts.length ? `(${parts.join(" · ")}) ${pageTitle}` : pageTitle;
  // Alerts flash the title; they own it while they run.
  if (!document.body.dataset.alerting) document.title = title;
  document.body.dataset.calmTitle = title;
}

// The first line of the resident's latest message: what the chat is about now.
function previewOf(entry) {
  const messages = [...entry.transcript.bySeq.values()].filter((m) => m.sender === "resident");
  const last = messages.at(-1);
  return last ? last.body.split("\n")[0] : "";
}

function tag(text, className) {
  const node = document.createElement("span");
  node.className = `tag ${className}`;
  node.textContent = text;
  return node;
}

function renderHeld() {
  const list = $("held");
  list.replaceChildren(...[...held.entries()].map(([id, entry]) => {
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = `held-item${id === selectedId ? " selected" : ""}${entry.unread ? " unread" : ""}`;
    if (id === selectedId) button.setAttribute("aria-current", "true");
    const title = document.createElement("span");
    title.className = "held-title";
    title.textContent = format(strings.conversation, { id });
    if (entry.kind === "callback") title.textContent += ` · ${strings.kind_callback}`;
    if (entry.state === "closed") title.textContent += ` · ${strings.state_closed}`;
    title.prepend(levelBadge(entry.risk_level || "low", strings.levels), " ");
    button.append(title);
    // Unread is a number in a badge, not only bold text.
    if (entry.unread) {
      const count = document.createElement("span");
      count.className = "unread-count";
      count.textContent = entry.unread;
      count.setAttribute("aria-label", plural("unread", entry.unread, {}, strings.new_message));
      button.append(count);
    }
    const preview = document.createElement("span");
    preview.className = "held-preview";
    preview.textContent = previewOf(entry);
    if (preview.textContent) button.append(preview);
    button.addEventListener("click", () => select(id));
    li.append(button);
    return li;
  }));
  $("held-empty").hidden = held.size > 0;
  renderTitle();
}

function ensureHeld(conversation) {
  const id = conversation.conversation_id;
  if (!held.has(id)) {
    const list = document.createElement("ol");
    // The list sits in the page's role="log" region when shown.
    list.className = "messages";
    held.set(id, {
      kind: conversation.kind || "chat",
      state: conversation.state,
      risk_level: conversation.risk_level,
      holder_id: conversation.holder_id,
      unread: 0,
      transcript: new Transcript(list, {
        resident: strings.resident, counselor: strings.you, system: strings.system,
        social_worker: strings.social_worker, supervisor: strings.supervisor,
        sending: strings.sending, failed: strings.failed, levels: strings.levels,
        signals: strings.signals,
        assessment: strings.assessment,
        notices: {
          social_worker_joined: strings.social_worker_joined,
          counselor_changed: strings.counselor_changed,
          supervisor_joined: strings.supervisor_joined,
          counselor_disconnected: strings.counselor_disconnected,
          resident_left: strings.resident_left,
        },
      }),
    });
  } else {
    const entry = held.get(id);
    if (conversation.state) entry.state = conversation.state;
    if (conversation.kind) entry.kind = conversation.kind;
    if (conversation.risk_level) entry.risk_level = conversation.risk_level;
    if ("holder_id" in conversation) entry.holder_id = conversation.holder_id;
  }
  return held.get(id);
}

async function syncConversation(id) {
  const entry = held.get(id);
  for (;;) {
    const ack = await request("sync", { conversation_id: id, after_seq: entry.transcript.lastSeq });
    if (!ack.ok) return;
    ack.messages.forEach((m) => entry.transcript.add(m));
    if (!ack.has_more) return;
  }
}

async function loadNotes(id) {
  const ack = await request("notes", { conversation_id: id });
  if (!ack.ok || id !== selectedId) return;
  $("notes").replaceChildren(...ack.notes.map(noteNode));
}

function noteNode(note) {
  const li = document.createElement("li");
  li.textContent = note.body;
  // Whispers and hand-over notes say what they are.
  const kind = strings.transfers.note_kinds[note.kind];
  if (kind) {
    li.classList.add(`note-${note.kind}`);
    const label = document.createElement("strong");
    label.className = "note-kind";
    label.textContent = kind;
    li.prepend(label);
  }
  const time = document.createElement("span");
  time.className = "meta";
  time.textContent = new Date(note.created_at).toLocaleString(document.documentElement.lang);
  li.append(time);
  return li;
}

function select(id) {
  selectedId = id;
  const entry = held.get(id);
  $("no-conversation").hidden = Boolean(entry);
  $("conversation").hidden = !entry;
  if (!entry) {
    callPanel.hide();
    resourcePanel.hide();
    transfers.show(null, null, false);
    return renderHeld();
  }
  entry.unread = 0;
  wellbeing.showEarlier(id);
  $("conversation-title").textContent = format(strings.conversation, { id });
  $("conversation-level").replaceChildren(levelBadge(entry.risk_level || "low", strings.levels));
  $("correct-level").value = entry.risk_level || "low";
  $("triage-form").hidden = entry.state !== "active";
  $("conversation-state").textContent =
    entry.state === "closed" ? strings.state_closed : strings.state_active;
  // A responder who joined beside the counsellor may talk, not hand back or close.
  const isHolder = String(entry.holder_id) === userId;
  $("release").hidden = entry.state !== "active" || !isHolder;
  $("wrap-up-open").hidden = !isHolder;
  transfers.show(id, entry, isHolder);
  const isCallback = entry.kind === "callback";
  $("composer").hidden = entry.state !== "active" || isCallback;
  if (isCallback && entry.state === "active" && isHolder) callPanel.show(id);
  else callPanel.hide();
  if (entry.state === "active") resourcePanel.show(id, entry.kind);
  else resourcePanel.hide();
  $("messages").replaceWith(entry.transcript.list);
  entry.transcript.list.id = "messages";
  outbox.pending((item) => item.conversation_id === id)
    .forEach((item) => entry.transcript.showPending(item, "counselor"));
  loadNotes(id);
  renderHeld();
}

async function claimConversation(id, button) {
  button.disabled = true;
  let ack = await request("claim", { conversation_id: id });
  // Only a supervisor may ring a callback before the resident's window
  // opens, and only after saying so (the server audits it).
  if (!ack.ok && ack.error?.code === "callback_window_not_open"
      && roleMay("supervise")
      && window.confirm(strings.call_before_window)) {
    ack = await request("claim", { conversation_id: id, before_window: true });
  }
  button.disabled = false;
  if (!ack.ok) return toast(errorText(strings, ack.error));
  ensureHeld(ack.conversation);
  await syncConversation(id);
  select(id);
  toast(strings.claimed);
}

function flushOutbox() {
  return outbox.flush({
    onAck: () => {},
    onFinalError: (item, error) => {
      held.get(item.conversation_id)?.transcript.markFailed(item.client_id);
      toast(errorText(strings, error));
    },
  });
}

const callPanel = new CallPanel($("call-panel"), strings, request, {
  onDone: (id) => forget(id),
  toast,
  errorText,
});

const resourcePanel = new ResourcePanel($("resources-panel"), strings, request, {
  toast,
  errorText,
});

const transfers = new Transfers(socket, strings, {
  request,
  toast,
  errorText,
  openConversation: async (conversation) => {
    ensureHeld(conversation);
    await syncConversation(conversation.conversation_id);
    select(conversation.conversation_id);
    // The hand-over note is among the notes: show them.
    document.querySelector("details.notes").open = true;
  },
  appendNote: (note) => $("notes").append(noteNode(note)),
  transcriptList: (id) => held.get(id)?.transcript.list,
});

const wellbeing = new Wellbeing(strings, request, toast);
wellbeing.onBreakChange = () => renderQueue();
socket.on("break", (payload) => wellbeing.setBreak(payload.on_break_until));

initQuickReplies({ strings, request, toast, errorText, selected: () => selectedId });

function forget(id) {
  held.delete(id);
  if (selectedId === id) select(null);
  renderHeld();
}

socket.on("connect", async () => {
  $("connection").textContent = strings.connected;
  $("connection").dataset.state = "online";
});
socket.on("disconnect", () => {
  $("connection").textContent = strings.offline;
  $("connection").dataset.state = "offline";
});
socket.on("queue", (payload) => {
  queueItems = payload.items;
  queueTotal = payload.total ?? payload.items.length;
  renderQueue();
});
// One waiting chat's line changed (a new message); nobody's place moved.
socket.on("queue_item", (item) => {
  const index = queueItems.findIndex((q) => q.conversation_id === item.conversation_id);
  if (index < 0) return;
  // Pushes from two workers can cross: never let an older item replace a newer one.
  if (item.message_count < queueItems[index].message_count) return;
  queueItems[index] = item;
  renderQueue();
});
// Sent on every (re)connect: the conversations this counsellor holds.
socket.on("held", async (payload) => {
  const ids = new Set(payload.items.map((c) => c.conversation_id));
  [...held.keys()].filter((id) => !ids.has(id)).forEach(forget);
  payload.items.forEach(ensureHeld);
  renderHeld();
  await Promise.all(payload.items.map((c) => syncConversation(c.conversation_id)));
  if (selectedId === null && payload.items.length) select(payload.items[0].conversation_id);
  else if (selectedId !== null) select(selectedId);
  await flushOutbox();
});
socket.on("conversation", async (change) => {
  const id = change.conversation_id;
  if (change.state === "taken_over") toast(strings.taken_over);
  if (["released", "wrapped", "taken_over", "transferred"].includes(change.state)) {
    return forget(id);
  }
  ensureHeld(change);
  await syncConversation(id);
  if (selectedId === id || selectedId === null) select(id);
  else renderHeld();
});
socket.on("message", (message) => {
  const entry = held.get(message.conversation_id);
  if (!entry) return;
  const added = entry.transcript.add(message);
  if (added && entry.transcript.hasGap) syncConversation(message.conversation_id);
  if (added && message.conversation_id !== selectedId && message.sender === "resident") {
    entry.unread += 1;
  }
  if (added) renderHeld(); // the preview follows the latest message
  // New needs from the triage bring new suggestions.
  if (added && message.conversation_id === selectedId && message.assessment?.needs?.length) {
    resourcePanel.refresh();
  }
});

$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const textarea = $("body");
  const body = textarea.value.trim();
  if (!body || selectedId === null) return;
  const item = outbox.add({ conversation_id: selectedId, body });
  held.get(selectedId).transcript.showPending(item, "counselor");
  textarea.value = "";
  if (socket.connected) flushOutbox();
});
$("body").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault(); // else the line break lands in the emptied box
    $("composer").requestSubmit();
  }
});
$("note-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = $("note-body").value.trim();
  if (!body) return;
  const ack = await request("note", { conversation_id: selectedId, body });
  if (!ack.ok) return toast(errorText(strings, ack.error));
  $("note-body").value = "";
  $("notes").append(noteNode(ack.note));
});
$("release").addEventListener("click", async () => {
  const ack = await request("release", { conversation_id: selectedId });
  if (!ack.ok) return toast(errorText(strings, ack.error));
  toast(strings.released);
});
// Esc or Cancel closes a dialog but never throws away what was typed: the
// draft is there when it opens again for the same conversation.
let wrapUpFor = null;
$("wrap-up-open").addEventListener("click", () => {
  if (wrapUpFor !== selectedId) {
    $("wrap-up-form").reset();
    $("wrap-up-escalation").hidden = true;
  }
  wrapUpFor = selectedId;
  $("wrap-up-error").hidden = true;
  resourcePanel.fillWrapUp(selectedId, $("wrap-up-referrals"), $("wrap-up-form").elements.outcome);
  $("wrap-up").showModal();
});
$("wrap-up-cancel").addEventListener("click", () => $("wrap-up").close());
$("wrap-up-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const closingId = selectedId;
  const wrapUp = {
    outcome: form.get("outcome"),
    needs: form.getAll("needs"),
    follow_up: form.get("follow_up") === "on",
    summary: form.get("summary") || "",
  };
  // A chat is never closed with an escalation left open behind it: the
  // server says so, and the form then asks how the escalation ended.
  if (!$("wrap-up-escalation").hidden) {
    wrapUp.escalation = {
      outcome: form.get("escalation_outcome"),
      notes: form.get("escalation_notes") || "",
    };
  }
  const ack = await request("close", { conversation_id: closingId, wrap_up: wrapUp });
  if (!ack.ok) {
    if (ack.error?.code === "escalation_open") {
      $("wrap-up-escalation").hidden = false;
      $("wrap-up-form").elements.escalation_outcome.focus();
    }
    $("wrap-up-error").textContent = errorText(strings, ack.error);
    $("wrap-up-error").hidden = false;
    return;
  }
  $("wrap-up-escalation").hidden = true;
  $("wrap-up").close();
  $("wrap-up-form").reset();
  wrapUpFor = null;
  toast(strings.wrapped);
  if (ack.offer_pause) wellbeing.offerPause(closingId);
});
$("triage-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const reason = $("correct-reason").value.trim();
  if (!reason) return toast(strings.correct_prompt);
  const level = $("correct-level").value;
  const ack = await request("correct", { conversation_id: selectedId, level, reason });
  if (!ack.ok) return toast(errorText(strings, ack.error));
  $("correct-reason").value = "";
  held.get(selectedId).risk_level = level;
  select(selectedId);
  toast(strings.corrected);
});
$("escalate").addEventListener("click", async () => {
  const reason = $("correct-reason").value.trim() || window.prompt(strings.escalate_prompt);
  if (!reason) return;
  const ack = await request("escalate", { conversation_id: selectedId, reason });
  if (!ack.ok) return toast(errorText(strings, ack.error));
  $("correct-reason").value = "";
  toast(ack.alerted === "nobody" ? strings.nobody_on_duty : strings.escalated);
});

// --- duty and escalations ---------------------------------------------

let onDuty = false;
function renderDuty() {
  $("duty").textContent = onDuty ? strings.on_duty : strings.off_duty;
  $("duty").setAttribute("aria-pressed", String(onDuty));
  $("duty").classList.toggle("primary", onDuty);
  $("duty").classList.toggle("secondary", !onDuty);
}
socket.on("duty", (payload) => {
  onDuty = payload.on_duty;
  renderDuty();
  // Duty outlives a reload, not a long absence; when it ended while the
  // console was closed, the person is told, so nobody believes they are
  // still receiving crisis alerts.
  if (payload.ended === "console_gone") showNotice(strings.duty_ended);
});
// The safety net: a resident waiting too long for an answer, or nobody on
// duty to receive crisis alerts.
socket.on("safety_alert", (alert) => {
  if (alert.kind === "unanswered") {
    const since = alert.since ? new Date(alert.since).getTime() : Date.now();
    const seconds = Math.max(0, Math.round((Date.now() - since) / 1000));
    showNotice(format(strings.unanswered_alert, {
      id: alert.conversation_id, clock: formatClock(seconds),
    }));
  } else if (alert.kind === "no_responder_on_duty") {
    showNotice(strings.no_responder_alert);
  }
});
function showNotice(text) {
  const notice = $("safety-notice");
  notice.textContent = text;
  notice.hidden = false;
  toast(text);
}
$("duty").addEventListener("click", async () => {
  if (!onDuty && "Notification" in window && Notification.permission === "default") {
    Notification.requestPermission();
  }
  const ack = await request("duty", { on_duty: !onDuty });
  if (!ack.ok) return toast(errorText(strings, ack.error));
  onDuty = ack.on_duty;
  renderDuty();
});

let escalationList = { open: [], acknowledged: [], target_seconds: 120 };

// Response clocks read as mm:ss ("12:03"), not a pile of seconds.
function clockText(openedAt) {
  return formatClock((Date.now() - new Date(openedAt).getTime()) / 1000);
}

function escalationNode(item) {
  const li = document.createElement("li");
  li.className = `escalation state-${item.state}`;
  li.dataset.escalationId = item.escalation_id;
  const seconds = (Date.now() - new Date(item.opened_at).getTime()) / 1000;
  if (item.state === "open" && seconds > escalationList.target_seconds) {
    li.classList.add("overdue");
  }
  const title = document.createElement("strong");
  title.textContent = format(strings.conversation, { id: item.conversation_id });
  const state = document.createElement("span");
  state.className = "meta";
  state.textContent = [
    strings.escalation_states[item.state] || item.state,
    item.assignee || "",
    item.reason || "",
  ].filter(Boolean).join(" · ");
  const clock = document.createElement("span");
  clock.className = "clock";
  clock.dataset.openedAt = item.opened_at;
  clock.textContent = item.state === "open" ? clockText(item.opened_at)
    : formatClock(Math.round(item.seconds_to_acknowledge));
  const actions = document.createElement("div");
  actions.className = "actions";
  if (item.state === "open") {
    actions.append(button(strings.acknowledge, () => escalationAction("acknowledge", item), "primary"));
  } else if (String(item.assignee_id) === userId) {
    if (item.state !== "joined") {
      actions.append(
        button(strings.join, () => escalationAction("join", item, { take_over: false })),
        button(strings.take_over, () => escalationAction("join", item, { take_over: true })),
      );
    }
    actions.append(button(strings.close_escalation, () => openEscalationClose(item)));
  }
  const read = document.createElement("a");
  read.href = `/supervisor/conversations/${item.conversation_id}`;
  read.textContent = strings.read_transcript;
  read.target = "_blank";
  read.rel = "noopener";
  actions.append(read);
  li.append(levelBadge(item.level, strings.levels), title, clock, state, actions);
  return li;
}

function renderEscalations() {
  if (!isResponder) return;
  const items = [...escalationList.open, ...escalationList.acknowledged];
  $("escalations").replaceChildren(...items.map(escalationNode));
  $("escalations-count").textContent = items.length;
  $("escalations-empty").hidden = items.length > 0;
  if (!escalationList.open.length) stopAlerts();
}

async function escalationAction(event, item, extra = {}) {
  const ack = await request(event, { escalation_id: item.escalation_id, ...extra });
  if (!ack.ok) return toast(errorText(strings, ack.error));
  if (event === "acknowledge") {
    stopAlerts();
    toast(strings.acknowledged);
  }
  if (event === "join") {
    const id = ack.conversation_id;
    ensureHeld({ conversation_id: id, state: "active" });
    await syncConversation(id);
    select(id);
  }
}

let closingEscalation = null;
function openEscalationClose(item) {
  if (closingEscalation?.escalation_id !== item.escalation_id) {
    $("escalation-close-form").reset();
  }
  closingEscalation = item;
  $("escalation-close-error").hidden = true;
  $("escalation-close").showModal();
}
$("escalation-close-cancel").addEventListener("click", () => $("escalation-close").close());
$("escalation-close-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const ack = await request("close_escalation", {
    escalation_id: closingEscalation.escalation_id,
    outcome: form.get("outcome"),
    notes: form.get("notes") || "",
  });
  if (!ack.ok) {
    $("escalation-close-error").textContent = errorText(strings, ack.error);
    $("escalation-close-error").hidden = false;
    return;
  }
  $("escalation-close").close();
  $("escalation-close-form").reset();
  closingEscalation = null;
});

socket.on("escalations", (payload) => {
  escalationList = payload;
  renderEscalations();
});
// An alert: sound, system notification and a flashing title until someone
// acknowledges (the list update stops them).
socket.on("escalation", (item) => {
  const template = item.repeat ? strings.escalation_repeat : strings.escalation_alert;
  const text = format(template, { id: item.conversation_id });
  toast(text);
  startAlerts(text);
});

setInterval(() => {
  renderQueue();
  for (const clock of document.querySelectorAll(".escalation.state-open .clock")) {
    clock.textContent = clockText(clock.dataset.openedAt);
  }
}, 1000);

// The counsellor console: live queue, claimed conversations, replies with
// acknowledgements, notes, release and wrap-up. Resyncs after reconnects.
import { io } from "/static/vendor/socket.io.esm.min.js";
import { Outbox } from "/static/shared/outbox.js";
import { Transcript, errorText, format, readStrings } from "/static/shared/transcript.js";

const ACK_TIMEOUT_MS = 10000;
const strings = readStrings();
const $ = (id) => document.getElementById(id);
const userId = document.body.dataset.userId;

const held = new Map(); // conversation_id -> {state, transcript, unread}
let queueItems = [];
let selectedId = null;

const socket = io("/console");
const outbox = new Outbox(`hotline.console.${userId}.outbox`, (item) =>
  socket.timeout(ACK_TIMEOUT_MS).emitWithAck("message", {
    conversation_id: item.conversation_id, client_id: item.client_id, body: item.body,
  }),
);

function request(event, payload) {
  return socket.timeout(ACK_TIMEOUT_MS).emitWithAck(event, payload)
    .catch(() => ({ ok: false, error: { code: "network" } }));
}

function toast(text) {
  const node = $("toast");
  node.textContent = text;
  node.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { node.hidden = true; }, 4000);
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
    const meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = [
      strings[`lang_${item.lang}`] || item.lang,
      waitingLabel(item.waiting_since),
      format(strings.messages_count, { count: item.message_count }),
    ].join(" · ");
    const preview = document.createElement("p");
    preview.className = "preview";
    preview.textContent = item.preview;
    const claim = document.createElement("button");
    claim.type = "button";
    claim.className = "primary claim";
    claim.textContent = strings.claim;
    claim.addEventListener("click", () => claimConversation(item.conversation_id, claim));
    li.append(title, meta, preview, claim);
    return li;
  }));
  $("queue-count").textContent = queueItems.length;
  $("queue-empty").hidden = queueItems.length > 0;
}

function renderHeld() {
  const list = $("held");
  list.replaceChildren(...[...held.entries()].map(([id, entry]) => {
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = `held-item${id === selectedId ? " selected" : ""}${entry.unread ? " unread" : ""}`;
    button.textContent = format(strings.conversation, { id });
    if (entry.state === "closed") button.textContent += ` · ${strings.state_closed}`;
    if (entry.unread) button.setAttribute("aria-label", `${button.textContent} · ${strings.new_message}`);
    button.addEventListener("click", () => select(id));
    li.append(button);
    return li;
  }));
  $("held-empty").hidden = held.size > 0;
}

function ensureHeld(conversation) {
  const id = conversation.conversation_id;
  if (!held.has(id)) {
    const list = document.createElement("ol");
    list.className = "messages";
    list.setAttribute("role", "log");
    held.set(id, {
      state: conversation.state,
      unread: false,
      transcript: new Transcript(list, {
        resident: strings.resident, counselor: strings.you, system: strings.system,
        sending: strings.sending, failed: strings.failed,
      }),
    });
  } else {
    held.get(id).state = conversation.state;
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
  const time = document.createElement("span");
  time.className = "meta";
  time.textContent = new Date(note.created_at).toLocaleString();
  li.append(time);
  return li;
}

function select(id) {
  selectedId = id;
  const entry = held.get(id);
  $("no-conversation").hidden = Boolean(entry);
  $("conversation").hidden = !entry;
  if (!entry) return renderHeld();
  entry.unread = false;
  $("conversation-title").textContent = format(strings.conversation, { id });
  $("conversation-state").textContent =
    entry.state === "closed" ? strings.state_closed : strings.state_active;
  $("release").hidden = entry.state !== "active";
  $("composer").hidden = entry.state !== "active";
  $("messages").replaceWith(entry.transcript.list);
  entry.transcript.list.id = "messages";
  outbox.pending((item) => item.conversation_id === id)
    .forEach((item) => entry.transcript.showPending(item, "counselor"));
  loadNotes(id);
  renderHeld();
}

async function claimConversation(id, button) {
  button.disabled = true;
  const ack = await request("claim", { conversation_id: id });
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
  if (change.state === "released" || change.state === "wrapped") return forget(id);
  ensureHeld(change);
  await syncConversation(id);
  if (selectedId === id || selectedId === null) select(id);
  else renderHeld();
});
socket.on("message", (message) => {
  const entry = held.get(message.conversation_id);
  if (!entry) return;
  if (entry.transcript.add(message) && message.conversation_id !== selectedId) {
    entry.unread = true;
    renderHeld();
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
$("wrap-up-open").addEventListener("click", () => {
  $("wrap-up-form").reset();
  $("wrap-up-error").hidden = true;
  $("wrap-up").showModal();
});
$("wrap-up-cancel").addEventListener("click", () => $("wrap-up").close());
$("wrap-up-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const form = new FormData(event.target);
  const ack = await request("close", {
    conversation_id: selectedId,
    wrap_up: {
      outcome: form.get("outcome"),
      needs: form.getAll("needs"),
      follow_up: form.get("follow_up") === "on",
      summary: form.get("summary") || "",
    },
  });
  if (!ack.ok) {
    $("wrap-up-error").textContent = errorText(strings, ack.error);
    $("wrap-up-error").hidden = false;
    return;
  }
  $("wrap-up").close();
  toast(strings.wrapped);
});
setInterval(renderQueue, 30000);

// The resident's chat page: start or resume an anonymous conversation, send
// with acknowledgements, resync after any reconnect, leave in one keystroke
// (or one tap, or a three-finger touch on a phone) without leaving a trace.
import { io } from "/static/vendor/socket.io.esm.min.js";
import { limits } from "/static/shared/config.js";
import { $, readJson, showError } from "/static/shared/dom.js";
import { Outbox } from "/static/shared/outbox.js";
import { ACK_TIMEOUT_MS } from "/static/shared/socket.js";
import { showCrisisLines } from "/static/resident/crisis.js";
import { offerSurvey, resetSurvey, setupSurvey } from "/static/resident/survey.js";
import {
  Transcript, errorText, format, readStrings, referralCard,
} from "/static/shared/transcript.js";
import { signalJoin, setupJoinSignal } from "/static/resident/join-signal.js";

const CONVERSATION_KEY = "hotline.conversation";
const OUTBOX_KEY = "hotline.outbox";

const strings = readStrings();
const sections = { welcome: $("welcome"), chat: $("chat"), ended: $("ended") };
const transcript = new Transcript($("messages"), {
  resident: strings.you, counselor: strings.counselor, system: strings.system,
  social_worker: strings.social_worker, supervisor: strings.supervisor,
  sending: strings.sending, failed: strings.failed,
  notices: {
    social_worker_joined: strings.social_worker_joined,
    counselor_changed: strings.counselor_changed,
    supervisor_joined: strings.supervisor_joined,
    counselor_disconnected: strings.counselor_disconnected,
    resident_left: strings.resident_left,
  },
});

let socket = null;
let conversation = loadConversation();
// The last state the server told us, so "a counsellor joined" is signalled
// once, on the change, and not again after a reload into an active chat.
let lastState = null;
// Set once the page shows that the conversation ended.
let ending = false;
// Refusals the server sends as a socket connect error; anything else is the
// network, and socket.io-client retries it on its own.
const TOKEN_LOST = new Set(["unauthorized", "not_found", "invalid_input"]);
const outbox = new Outbox(OUTBOX_KEY, (item) =>
  socket.timeout(ACK_TIMEOUT_MS).emitWithAck("message", {
    client_id: item.client_id, body: item.body,
  }),
);

function loadConversation() {
  try {
    return JSON.parse(localStorage.getItem(CONVERSATION_KEY));
  } catch {
    return null;
  }
}

function show(name) {
  for (const [key, section] of Object.entries(sections)) section.hidden = key !== name;
}

function forgetConversation() {
  resetSurvey();
  localStorage.removeItem(CONVERSATION_KEY);
  localStorage.removeItem(OUTBOX_KEY);
  outbox.items = [];
  conversation = null;
  lastState = null;
  ending = false;
  if (socket) socket.disconnect();
  socket = null;
  transcript.clear();
}

function waitingText(status) {
  if (!status.position) return strings.waiting_no_position;
  const estimate = status.estimated_minutes
    ? format(strings.estimate, { minutes: status.estimated_minutes })
    : strings.no_estimate;
  const text = `${format(strings.waiting, { position: status.position })} ${estimate}`;
  // An hour or more: the truth at once, and what else there is.
  return status.long_wait ? `${text} ${strings.long_wait}` : text;
}

function renderStatus(status) {
  // "left": the server saw us go (quick exit, or gone too long); being back
  // means waiting again.
  const state = status.state === "left" ? "waiting" : status.state;
  $("self-help").hidden = state !== "waiting";
  $("join-sound").hidden = state !== "waiting";
  const text = {
    waiting: waitingText(status),
    active: strings.active,
    closed: strings.closed,
  }[state];
  $("status").textContent = text || "";
  $("status").dataset.state = state;
  if (lastState === "waiting" && state === "active") signalJoin(strings.active);
  lastState = state;
  if (state === "closed" && !ending) {
    ending = true;
    showError($("composer-error"), "");
    const token = conversation?.token;
    showEndedCards();
    offerSurvey($("ended-survey-slot"), () => token);
    show("ended");
    // After a reload the server says "closed" before the page has synced:
    // fetch the messages first, their cards belong on the ended page.
    const done = () => {
      showEndedCards();
      socket?.disconnect();
    };
    if (socket?.connected) resync().catch(() => {}).finally(done);
    else done();
  }
}

// The ended page keeps what the resident may need later: every referral
// card of the conversation, copyable, with its phone numbers as links.
function showEndedCards() {
  const cards = [...transcript.bySeq.values()]
    .filter((message) => message.card)
    .sort((a, b) => a.seq - b.seq)
    .map((message) => {
      const item = document.createElement("li");
      item.append(referralCard(message.card, message.body, strings.card));
      return item;
    });
  $("ended-card-list").replaceChildren(...cards);
  $("ended-cards").hidden = cards.length === 0;
}

// Shown at once when a crisis was detected and no staff is on duty.
function showCrisisContacts({ lines }, panel = $("crisis-alert")) {
  showCrisisLines(panel, strings.crisis_contacts, lines, strings.crisis_line_names);
}

async function resync() {
  // Page through everything after the last seq we hold.
  for (;;) {
    const ack = await socket.timeout(ACK_TIMEOUT_MS).emitWithAck("sync", {
      after_seq: transcript.lastSeq,
    });
    if (!ack.ok) throw new Error(ack.error?.message);
    ack.messages.forEach((m) => transcript.add(m));
    renderStatus(ack.status);
    if (!ack.has_more) return;
  }
}

function flushOutbox() {
  return outbox.flush({
    onAck: () => {},
    onFinalError: (item, error) => {
      transcript.markFailed(item.client_id);
      showError($("composer-error"), errorText(strings, error));
    },
  });
}

function connect() {
  show("chat");
  outbox.pending().forEach((item) => transcript.showPending(item, "resident"));
  socket = io("/chat", { auth: { token: conversation.token } });
  socket.on("connect", async () => {
    $("connection").hidden = true;
    try {
      await resync();
      await flushOutbox();
    } catch {
      // The next reconnect resyncs again.
    }
  });
  socket.on("disconnect", () => {
    $("connection").textContent = strings.offline;
    $("connection").hidden = false;
  });
  socket.on("connect_error", (error) => {
    // A refusal carries its code as the message (and in data); the client
    // does not retry a refusal, so it must never read "Reconnecting…".
    const code = refusalCode(error);
    if (code === "blocked") return showBlocked();
    if (TOKEN_LOST.has(code)) {
      forgetConversation();
      show("welcome");
      showError($("welcome-error"), strings.token_lost);
      return;
    }
    $("connection").textContent = strings.offline;
    $("connection").hidden = false;
  });
  socket.on("message", (message) => {
    if (transcript.add(message) && transcript.hasGap) resync().catch(() => {});
  });
  socket.on("status", renderStatus);
  socket.on("crisis_contacts", (payload) => showCrisisContacts(payload));
}

// The code of a refused connection: in ``data`` and as the message; older
// servers sent only the error object as Python printed it.
function refusalCode(error) {
  if (error.data?.code) return error.data.code;
  const printed = /'code': '(\w+)'/.exec(error.message || "");
  return printed ? printed[1] : error.message;
}

// A blocked contact gets a neutral message in the page's language and the
// crisis numbers, never a dead page.
function showBlocked() {
  forgetConversation();
  show("welcome");
  showError($("welcome-error"), "");
  const panel = $("welcome-crisis");
  showCrisisLines(panel, panel.dataset.blocked, pageCrisisLines(), strings.crisis_line_names);
}

function pageCrisisLines() {
  return readJson("crisis-lines").map(([key, number]) => ({ key, number }));
}

// previousToken: the ended conversation's token, sent only when the resident
// ticked "let the next counsellor see a summary".
async function startChat(previousToken = null) {
  showError($("welcome-error"), "");
  $("start-chat").disabled = true;
  try {
    const response = await fetch("/api/chat", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ lang: document.body.dataset.lang, previous_token: previousToken }),
    });
    const data = await response.json();
    if (data.error?.code === "blocked") return showBlocked();
    if (!response.ok) throw new Error(errorText(strings, data.error));
    conversation = { id: data.conversation_id, token: data.token };
    localStorage.setItem(CONVERSATION_KEY, JSON.stringify(conversation));
    connect();
    $("body").focus();
  } catch (error) {
    showError($("welcome-error"), error.message || strings.start_failed);
  } finally {
    $("start-chat").disabled = false;
  }
}

function send(event) {
  event.preventDefault();
  const textarea = $("body");
  const body = textarea.value.trim();
  if (!body) return;
  if (body.length > limits.message_chars) {
    showError($("composer-error"), strings.errors.too_long);
    return;
  }
  showError($("composer-error"), "");
  const item = outbox.add({ body });
  transcript.showPending(item, "resident");
  textarea.value = "";
  if (socket?.connected) flushOutbox();
}

// Quick exit leaves nothing behind on the device: the server hears that we
// left (best effort, nothing waits for it), everything this site stored is
// erased, the page is blanked (so no back-forward cache snapshot shows the
// chat) and replaced in the history by the exit site, so Back skips it.
function quickExit() {
  const exitUrl = document.body.dataset.quickExitUrl;
  try {
    socket?.emit("leave", () => {});
  } catch {
    // Leaving must never wait for, or fail on, the network.
  }
  for (const storage of [localStorage, sessionStorage]) {
    try {
      storage.clear();
    } catch {
      // Storage disabled: nothing was stored either.
    }
  }
  // The language cookie is the server's (HttpOnly): ask it to drop it.
  fetch("/forget", { keepalive: true, credentials: "same-origin" }).catch(() => {});
  document.title = "";
  document.body.replaceChildren();
  window.location.replace(exitUrl);
}

$("quick-exit").addEventListener("click", quickExit);
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape") quickExit();
});
// Phone keyboards have no Esc: three fingers on the screen at once leave too
// (before any swipe, so no system gesture such as a screenshot starts).
document.addEventListener("touchstart", (event) => {
  if (event.touches.length >= 3) quickExit();
}, { passive: true });
// Switching language replaces the page in the history, so the site takes a
// single entry there, which quick exit then replaces.
for (const link of document.querySelectorAll(".lang-switch a")) {
  link.addEventListener("click", (event) => {
    event.preventDefault();
    window.location.replace(link.href);
  });
}
// A page brought back by Back from the back-forward cache shows what it
// showed when it was left: if what it shows is no longer stored, load it anew.
window.addEventListener("pageshow", (event) => {
  if (event.persisted && JSON.stringify(loadConversation()) !== JSON.stringify(conversation)) {
    document.body.replaceChildren();
    window.location.reload();
  }
});
$("start-chat").addEventListener("click", () => startChat());
$("new-chat").addEventListener("click", () => {
  const previous = $("share-summary").checked ? conversation?.token : null;
  $("share-summary").checked = false;
  forgetConversation();
  startChat(previous);
});
$("composer").addEventListener("submit", send);
$("body").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) send(event);
});
function askToEnd(asking) {
  $("end-confirm").hidden = !asking;
  $("end-chat").hidden = asking;
}
$("end-chat").addEventListener("click", () => askToEnd(true));
$("end-no").addEventListener("click", () => askToEnd(false));
$("end-yes").addEventListener("click", async () => {
  askToEnd(false);
  const ack = await socket?.timeout(ACK_TIMEOUT_MS).emitWithAck("end", {}).catch(() => null);
  if (ack?.ok) renderStatus({ state: "closed" });
});

setupSurvey(strings);
setupJoinSignal($("join-sound"));

if (conversation?.token) connect();
else show("welcome");

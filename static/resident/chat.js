// The resident's chat page: start or resume an anonymous conversation, send
// with acknowledgements, resync after any reconnect, leave in one keystroke.
import { io } from "/static/vendor/socket.io.esm.min.js";
import { Outbox } from "/static/shared/outbox.js";
import { showCrisisLines } from "/static/resident/crisis.js";
import { offerSurvey, resetSurvey, setupSurvey } from "/static/resident/survey.js";
import { Transcript, errorText, format, readStrings } from "/static/shared/transcript.js";

const CONVERSATION_KEY = "hotline.conversation";
const OUTBOX_KEY = "hotline.outbox";
const ACK_TIMEOUT_MS = 10000;

const strings = readStrings();
const $ = (id) => document.getElementById(id);
const sections = { welcome: $("welcome"), chat: $("chat"), ended: $("ended") };
const transcript = new Transcript($("messages"), {
  resident: strings.you, counselor: strings.counselor, system: strings.system,
  social_worker: strings.social_worker, supervisor: strings.supervisor,
  sending: strings.sending, failed: strings.failed,
  notices: {
    social_worker_joined: strings.social_worker_joined,
    counselor_changed: strings.counselor_changed,
    supervisor_joined: strings.supervisor_joined,
  },
});

let socket = null;
let conversation = loadConversation();
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

function showError(element, text) {
  element.textContent = text;
  element.hidden = !text;
}

function forgetConversation() {
  resetSurvey();
  localStorage.removeItem(CONVERSATION_KEY);
  localStorage.removeItem(OUTBOX_KEY);
  outbox.items = [];
  conversation = null;
  if (socket) socket.disconnect();
  socket = null;
  transcript.clear();
}

function waitingText(status) {
  if (!status.position) return strings.waiting_no_position;
  const estimate = status.estimated_minutes
    ? format(strings.estimate, { minutes: status.estimated_minutes })
    : strings.no_estimate;
  return `${format(strings.waiting, { position: status.position })} ${estimate}`;
}

function renderStatus(status) {
  $("self-help").hidden = status.state !== "waiting";
  const text = {
    waiting: waitingText(status),
    active: strings.active,
    closed: strings.closed,
  }[status.state];
  $("status").textContent = text || "";
  $("status").dataset.state = status.state;
  if (status.state === "closed") {
    showError($("composer-error"), "");
    const token = conversation?.token;
    offerSurvey($("ended-survey-slot"), () => token);
    show("ended");
    if (socket) socket.disconnect();
  }
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
    if (error.data?.code === "blocked") return showBlocked(error.data);
    if (error.data?.code === "unauthorized") {
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

// A blocked contact gets a neutral message and the crisis numbers, never a
// dead page.
function showBlocked(error) {
  forgetConversation();
  show("welcome");
  showError($("welcome-error"), error.message);
  if (error.details?.crisis_contacts) {
    showCrisisContacts({ lines: error.details.crisis_contacts }, $("welcome-crisis"));
  }
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
    if (data.error?.code === "blocked") return showBlocked(data.error);
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
  const max = Number(document.body.dataset.maxChars);
  if (body.length > max) {
    showError($("composer-error"), strings.errors.too_long);
    return;
  }
  showError($("composer-error"), "");
  const item = outbox.add({ body });
  transcript.showPending(item, "resident");
  textarea.value = "";
  if (socket?.connected) flushOutbox();
}

function quickExit() {
  // replace(): the chat page does not stay in the back history.
  document.body.replaceChildren();
  window.location.replace(document.body.dataset.quickExitUrl);
}

$("quick-exit").addEventListener("click", quickExit);
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape") quickExit();
});
$("start-chat").addEventListener("click", startChat);
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

if (conversation?.token) connect();
else show("welcome");

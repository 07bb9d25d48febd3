// The resident's callback request: a short form (number, time slot, what we
// may say), then a status card that follows the request until it is done.
// The request's id and token stay on this device, like a chat's.
import { $, readJson, showError } from "/static/shared/dom.js";
import { showCrisisLines } from "/static/resident/crisis.js";
import { offerSurvey } from "/static/resident/survey.js";
import { format, readStrings } from "/static/shared/transcript.js";

const CALLBACK_KEY = "hotline.callback";
const POLL_MS = 20000;
const FINISHED = new Set(["done", "cancelled"]);

const strings = readStrings();
const text = strings.callback;
const { timezone, slots } = readJson("callback-slots");
const timeOnly = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
  hour: "2-digit", minute: "2-digit", timeZone: timezone,
});

let stored = load();
let pollTimer = null;

function load() {
  try {
    return JSON.parse(localStorage.getItem(CALLBACK_KEY));
  } catch {
    return null;
  }
}

// Only one card at a time: the chat page's sections and ours.
function showCard(id) {
  for (const section of document.querySelectorAll("main.page > section")) {
    section.hidden = section.id !== id;
  }
  $("show-callback").hidden = !stored;
}

function fillSlots() {
  const select = $("callback-slot");
  const placeholder = new Option(text.choose_slot, "");
  const groups = { today: document.createElement("optgroup"), tomorrow: document.createElement("optgroup") };
  groups.today.label = text.today;
  groups.tomorrow.label = text.tomorrow;
  const now = Date.now();
  for (const slot of slots) {
    const start = new Date(slot.start);
    if (new Date(slot.end).getTime() <= now) continue;
    let label = `${timeOnly.format(start)}–${timeOnly.format(new Date(slot.end))}`;
    if (start.getTime() <= now) label += ` (${text.now})`;
    groups[slot.day].append(new Option(label, `${slot.start}|${slot.end}`));
  }
  const filled = Object.values(groups).filter((group) => group.children.length);
  select.replaceChildren(placeholder, ...filled);
  $("callback-no-slots").hidden = filled.length > 0;
}

function openForm() {
  fillSlots();
  showError($("callback-error"), "");
  showCard("callback");
  $("callback-phone").focus();
}

function formPayload(form) {
  const data = new FormData(form);
  const [windowStart, windowEnd] = (data.get("slot") || "|").split("|");
  return {
    phone: (data.get("phone") || "").trim(),
    window_start: windowStart,
    window_end: windowEnd,
    lang: data.get("lang"),
    note: (data.get("note") || "").trim(),
    may_leave_message: data.get("may_leave_message") === "on",
    may_say_hotline: data.get("may_say_hotline") === "on",
    share_history: data.get("share_history") === "on",
    consent: data.get("consent") === "on",
  };
}

function missingField(payload) {
  if (!payload.phone) return text.missing_phone;
  if (!payload.window_start) return text.missing_slot;
  if (!payload.consent) return text.missing_consent;
  return "";
}

async function submit(event) {
  event.preventDefault();
  const payload = formPayload(event.target);
  const missing = missingField(payload);
  showError($("callback-error"), missing);
  if (missing) return;
  const button = event.target.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const response = await fetch("/api/callbacks", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(payload),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      showError($("callback-error"), data.error?.message || text.failed);
      if (data.error?.details?.crisis_contacts) {
        // Blocked: still show where to get help at once.
        showCard("callback-status");
        $("callback-state").textContent = data.error.message;
        $("callback-cancel").hidden = true;
        renderCrisis(data.error.details.crisis_contacts);
      }
      return;
    }
    stored = { id: data.callback_id, token: data.token };
    localStorage.setItem(CALLBACK_KEY, JSON.stringify(stored));
    event.target.reset();
    showCard("callback-status");
    if (data.crisis_contacts) renderCrisis(data.crisis_contacts);
    await refresh();
  } catch {
    showError($("callback-error"), text.failed);
  } finally {
    button.disabled = false;
  }
}

function renderCrisis(lines) {
  showCrisisLines($("callback-crisis"), text.crisis, lines, strings.crisis_line_names);
}

function dayName(date) {
  const local = (d) => new Intl.DateTimeFormat("en-CA", { timeZone: timezone }).format(d);
  const tomorrow = new Date(Date.now() + 24 * 3600 * 1000);
  if (local(date) === local(new Date())) return text.today;
  if (local(date) === local(tomorrow)) return text.tomorrow;
  return date.toLocaleDateString(document.documentElement.lang);
}

function render(status) {
  $("callback-state").textContent = text.status[status.status] || "";
  $("callback-state").dataset.state = status.status;
  const start = new Date(status.window_start);
  const lines = [];
  if (!FINISHED.has(status.status)) {
    lines.push(format(text.when, {
      day: dayName(start),
      start: timeOnly.format(start),
      end: timeOnly.format(new Date(status.window_end)),
    }));
  }
  if (status.status === "attempted" && status.next_call_at) {
    lines.push(format(text.next_try, { time: timeOnly.format(new Date(status.next_call_at)) }));
  }
  if (status.position) lines.push(format(text.position, { position: status.position }));
  $("callback-when").textContent = lines.join(" ");
  if (status.crisis_contacts) renderCrisis(status.crisis_contacts);
  $("callback-cancel").hidden = !["waiting", "attempted"].includes(status.status) || status.urgent;
  // A finished call gets the same anonymous survey as a chat.
  $("callback-survey-slot").hidden = status.status !== "done";
  if (status.status === "done") {
    const token = stored?.token;
    offerSurvey($("callback-survey-slot"), () => token);
  }
  clearTimeout(pollTimer);
  if (!FINISHED.has(status.status)) pollTimer = setTimeout(refresh, POLL_MS);
}

async function refresh() {
  if (!stored) return;
  try {
    const response = await fetch(`/api/callbacks/${stored.id}`, {
      headers: { Authorization: `Bearer ${stored.token}` },
    });
    const data = await response.json().catch(() => ({}));
    if (response.status === 401 || response.status === 404) {
      forget();
      showCard("welcome");
      showError($("welcome-error"), text.lost);
      return;
    }
    if (!response.ok) throw new Error(data.error?.message);
    showError($("callback-status-error"), "");
    render(data);
  } catch {
    // Offline for a moment: keep what is shown and try again later.
    clearTimeout(pollTimer);
    pollTimer = setTimeout(refresh, POLL_MS);
  }
}

function forget() {
  clearTimeout(pollTimer);
  localStorage.removeItem(CALLBACK_KEY);
  stored = null;
  $("callback-crisis").hidden = true;
}

function askToCancel(asking) {
  $("callback-cancel-confirm").hidden = !asking;
  $("callback-cancel").hidden = asking;
}

async function cancel() {
  askToCancel(false);
  const response = await fetch(`/api/callbacks/${stored.id}/cancel`, {
    method: "POST",
    headers: { Authorization: `Bearer ${stored.token}` },
  }).catch(() => null);
  const data = await response?.json().catch(() => ({}));
  if (!response?.ok) {
    showError($("callback-status-error"), data?.error?.message || text.failed);
    return;
  }
  render(data);
}

function home() {
  // A finished request is forgotten; an open one stays reachable from the start.
  if (FINISHED.has($("callback-state").dataset.state)) forget();
  showCard("welcome");
}

$("open-callback").addEventListener("click", openForm);
$("show-callback").addEventListener("click", () => {
  showCard("callback-status");
  refresh();
});
$("callback-back").addEventListener("click", () => showCard("welcome"));
$("callback-form").addEventListener("submit", submit);
$("callback-cancel").addEventListener("click", () => askToCancel(true));
$("callback-cancel-yes").addEventListener("click", cancel);
$("callback-cancel-no").addEventListener("click", () => askToCancel(false));
$("callback-home").addEventListener("click", home);

// A chat in progress keeps the screen; otherwise an open request shows.
if (stored && !$("welcome").hidden) {
  showCard("callback-status");
  refresh();
} else {
  $("show-callback").hidden = !stored;
}

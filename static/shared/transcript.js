// A conversation's messages, ordered by seq and rendered as text only.
import { readJson } from "/static/shared/dom.js";

export class Transcript {
  constructor(listElement, labels) {
    this.list = listElement;
    this.labels = labels; // {resident, counselor, system, sending, failed}
    this.bySeq = new Map();
    // The highest seq up to which nothing is missing: what `sync` asks after.
    this.lastSeq = 0;
    this.maxSeq = 0;
  }

  clear() {
    this.bySeq.clear();
    this.lastSeq = 0;
    this.maxSeq = 0;
    this.list.replaceChildren();
  }

  // A push was missed (say, while the message queue was down): a later
  // message arrived before an earlier one. The page then resyncs.
  get hasGap() {
    return this.maxSeq > this.lastSeq;
  }

  // Adds a stored message once; returns true if it was new.
  add(message) {
    if (this.bySeq.has(message.seq)) return false;
    this.bySeq.set(message.seq, message);
    this.maxSeq = Math.max(this.maxSeq, message.seq);
    while (this.bySeq.has(this.lastSeq + 1)) this.lastSeq += 1;
    const pendingNode = message.client_id
      ? this.list.querySelector(`[data-client-id="${CSS.escape(message.client_id)}"]`)
      : null;
    const node = this.render(message, false);
    if (pendingNode) pendingNode.remove();
    const later = [...this.list.querySelectorAll("[data-seq]")].find(
      (el) => Number(el.dataset.seq) > message.seq,
    );
    const firstPending = this.list.querySelector("[data-client-id]:not([data-seq])");
    this.list.insertBefore(node, later || firstPending || null);
    node.scrollIntoView({ block: "end" });
    return true;
  }

  showPending(item, sender) {
    if (this.list.querySelector(`[data-client-id="${CSS.escape(item.client_id)}"]`)) return;
    const node = this.render({ sender, body: item.body, client_id: item.client_id }, true);
    this.list.append(node);
    node.scrollIntoView({ block: "end" });
  }

  markFailed(clientId) {
    const node = this.list.querySelector(`[data-client-id="${CSS.escape(clientId)}"]`);
    if (!node) return;
    node.classList.add("failed");
    node.querySelector(".meta").textContent = this.labels.failed;
  }

  render(message, pending) {
    const item = document.createElement("li");
    item.className = `msg from-${message.sender}${pending ? " pending" : ""}`;
    if (message.seq !== undefined) item.dataset.seq = message.seq;
    if (message.client_id) item.dataset.clientId = message.client_id;
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = (message.author_role && this.labels[message.author_role])
      || this.labels[message.sender] || message.sender;
    let body;
    if (message.card) {
      body = referralCard(message.card, message.body, this.labels.card || cardLabels());
    } else {
      body = document.createElement("p");
      body.className = "body";
      const notice = message.sender === "system" && this.labels.notices?.[message.body];
      body.append(...highlighted(
        notice || message.body, activeSpans(message.assessment), this.labels.signals || {},
      ));
    }
    const meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = pending
      ? this.labels.sending
      : new Date(message.sent_at).toLocaleTimeString(document.documentElement.lang, { hour: "2-digit", minute: "2-digit" });
    item.append(who, body, meta);
    if (message.assessment && this.labels.levels) {
      item.append(levelBadge(message.assessment.level, this.labels.levels));
      item.dataset.level = message.assessment.level;
      item.append(...assessmentNotes(
        message.assessment, this.labels.assessment, (seq) => this.bySeq.get(seq)?.body,
      ));
    }
    return item;
  }
}

// What staff should know beyond the level: the model was unsure, or the
// level came from an earlier message read with this one.
function assessmentNotes(assessment, labels, bodyOf) {
  if (!labels) return [];
  const notes = [];
  const note = (text, className) => {
    const span = document.createElement("span");
    span.className = `assessment-note ${className}`;
    span.textContent = text;
    notes.push(span);
  };
  if (assessment.uncertain) note(labels.uncertain, "uncertain");
  const seqs = assessment.context_seqs || [];
  if (seqs.length) {
    // The earlier words themselves, shortened: a seq means nothing to people.
    const quote = (seq) => {
      const body = bodyOf(seq);
      return body ? `“${body.length > 24 ? `${body.slice(0, 24)}…` : body}”` : `#${seq}`;
    };
    note(format(labels.context, { seqs: seqs.map(quote).join(" ") }), "context");
  }
  return notes;
}

function activeSpans(assessment) {
  if (!assessment) return [];
  return assessment.signals
    .filter((s) => s.status === "active" && Number.isInteger(s.start) && s.end > s.start)
    .sort((a, b) => a.start - b.start);
}

// Text nodes with the triage's matched spans wrapped in <mark>: built from
// nodes, never from HTML, because bodies are untrusted.
function highlighted(text, spans, signalNames) {
  const nodes = [];
  let at = 0;
  for (const span of spans) {
    if (span.start < at || span.end > text.length) continue;
    if (span.start > at) nodes.push(document.createTextNode(text.slice(at, span.start)));
    const mark = document.createElement("mark");
    mark.textContent = text.slice(span.start, span.end);
    mark.title = signalNames[span.kind] || span.kind;
    nodes.push(mark);
    at = span.end;
  }
  if (at < text.length) nodes.push(document.createTextNode(text.slice(at)));
  return nodes;
}

// The card labels come from the page's strings ("card"), so every page that
// shows a transcript gets them without passing them in.
let pageCardLabels = null;
function cardLabels() {
  if (!pageCardLabels) pageCardLabels = readStrings().card || {};
  return pageCardLabels;
}

// Runs of digits that look like a phone number (5+ digits, with spaces,
// dashes or a leading +), to offer as tel: links.
const PHONE = /\+?\d[\d\s-]{3,}\d/g;

function contactNodes(contact) {
  const nodes = [];
  let at = 0;
  for (const match of contact.matchAll(PHONE)) {
    if (match.index > at) nodes.push(document.createTextNode(contact.slice(at, match.index)));
    const link = document.createElement("a");
    link.href = `tel:${match[0].replace(/[^+\d]/g, "")}`;
    link.textContent = match[0];
    nodes.push(link);
    at = match.index + match[0].length;
  }
  if (at < contact.length) nodes.push(document.createTextNode(contact.slice(at)));
  return nodes;
}

// A referral card: name, contact (numbers as tel: links), hours, area and
// notes, with a Copy button that copies the card's plain text (``text``).
export function referralCard(card, text, labels) {
  const node = document.createElement("div");
  node.className = "body referral-card";
  const content = document.createElement("div");
  content.className = "card-content";
  const title = document.createElement("span");
  title.className = "card-title";
  title.textContent = labels.title || "";
  const name = document.createElement("strong");
  name.className = "card-name";
  name.textContent = card.name;
  const fields = document.createElement("dl");
  const field = (label, nodes, className) => {
    const term = document.createElement("dt");
    term.textContent = label;
    const value = document.createElement("dd");
    value.className = className;
    value.append(...nodes);
    fields.append(term, value);
  };
  field(labels.contact, contactNodes(card.contact), "card-contact");
  if (card.opening_hours) {
    field(labels.hours, [document.createTextNode(card.opening_hours)], "card-hours");
  }
  field(labels.area, [document.createTextNode(card.area || labels.citywide || "")], "card-area");
  if (card.notes) field(labels.notes, [document.createTextNode(card.notes)], "card-notes");
  content.append(title, name, fields);
  const copy = document.createElement("button");
  copy.type = "button";
  copy.className = "secondary card-copy";
  copy.textContent = labels.copy;
  const status = document.createElement("span");
  status.className = "card-status";
  status.setAttribute("aria-live", "polite");
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(text);
      status.textContent = labels.copied;
    } catch {
      // No clipboard (an old browser, or a page not served over HTTPS):
      // select the card so the phone's own menu can copy it.
      window.getSelection().selectAllChildren(content);
      status.textContent = labels.copy_selected;
    }
  });
  node.append(content, copy, status);
  return node;
}

export function levelBadge(level, names) {
  const badge = document.createElement("span");
  badge.className = `level level-${level}`;
  badge.textContent = names[level] || level;
  return badge;
}

export function readStrings() {
  return readJson("strings");
}

export function format(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, key) => String(values[key] ?? ""));
}

// The server's message is already in the page's language and may be more
// precise than the code's own text (which field, which limit); an error the
// page made itself (no connection) has only a code.
export function errorText(strings, error) {
  return error?.message || strings.errors[error?.code] || strings.errors.internal_error;
}

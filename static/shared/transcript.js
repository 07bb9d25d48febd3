// A conversation's messages, ordered by seq and rendered as text only.

export class Transcript {
  constructor(listElement, labels) {
    this.list = listElement;
    this.labels = labels; // {resident, counselor, system, sending, failed}
    this.bySeq = new Map();
    this.lastSeq = 0;
  }

  clear() {
    this.bySeq.clear();
    this.lastSeq = 0;
    this.list.replaceChildren();
  }

  // Adds a stored message once; returns true if it was new.
  add(message) {
    if (this.bySeq.has(message.seq)) return false;
    this.bySeq.set(message.seq, message);
    this.lastSeq = Math.max(this.lastSeq, message.seq);
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
    const body = document.createElement("p");
    body.className = "body";
    const notice = message.sender === "system" && this.labels.notices?.[message.body];
    body.append(...highlighted(notice || message.body, activeSpans(message.assessment)));
    const meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = pending
      ? this.labels.sending
      : new Date(message.sent_at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    item.append(who, body, meta);
    if (message.assessment && this.labels.levels) {
      item.append(levelBadge(message.assessment.level, this.labels.levels));
      item.dataset.level = message.assessment.level;
    }
    return item;
  }
}

function activeSpans(assessment) {
  if (!assessment) return [];
  return assessment.signals
    .filter((s) => s.status === "active" && Number.isInteger(s.start) && s.end > s.start)
    .sort((a, b) => a.start - b.start);
}

// Text nodes with the triage's matched spans wrapped in <mark>: built from
// nodes, never from HTML, because bodies are untrusted.
function highlighted(text, spans) {
  const nodes = [];
  let at = 0;
  for (const span of spans) {
    if (span.start < at || span.end > text.length) continue;
    if (span.start > at) nodes.push(document.createTextNode(text.slice(at, span.start)));
    const mark = document.createElement("mark");
    mark.textContent = text.slice(span.start, span.end);
    mark.title = span.name;
    nodes.push(mark);
    at = span.end;
  }
  if (at < text.length) nodes.push(document.createTextNode(text.slice(at)));
  return nodes;
}

export function levelBadge(level, names) {
  const badge = document.createElement("span");
  badge.className = `level level-${level}`;
  badge.textContent = names[level] || level;
  return badge;
}

export function readStrings() {
  return JSON.parse(document.getElementById("strings").textContent);
}

export function format(template, values) {
  return template.replace(/\{(\w+)\}/g, (_, key) => String(values[key] ?? ""));
}

export function errorText(strings, error) {
  return strings.errors[error?.code] || error?.message || strings.errors.internal_error;
}

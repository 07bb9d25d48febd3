// Messages the user wrote that the server has not acknowledged yet.
// Kept in localStorage so a reload or a crash of the tab loses nothing; each
// item keeps its client_id, so a resend is recognised by the server and
// stored once.

export function newClientId() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// Error codes after which resending cannot help.
const FINAL_ERRORS = new Set([
  "invalid_input", "conversation_closed", "not_holder", "not_found", "unauthorized",
  "forbidden", "not_a_chat", "blocked",
]);
// After a failed send (rate limit, server trouble, a lost ack), try again
// after a pause that doubles up to half a minute: a message must not wait
// for the user's next keystroke or a reconnect.
const FIRST_RETRY_MS = 2000;
const LAST_RETRY_MS = 30000;

export class Outbox {
  constructor(storageKey, send) {
    this.storageKey = storageKey;
    this.send = send; // async (item) => ack
    this.items = this.load();
    this.flushing = false;
    this.retryTimer = null;
    this.retryDelay = FIRST_RETRY_MS;
  }

  scheduleRetry(handlers) {
    if (this.retryTimer || !this.items.length) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.flush(handlers);
    }, this.retryDelay);
    this.retryDelay = Math.min(this.retryDelay * 2, LAST_RETRY_MS);
  }

  load() {
    try {
      const items = JSON.parse(localStorage.getItem(this.storageKey) || "[]");
      return Array.isArray(items) ? items : [];
    } catch {
      return [];
    }
  }

  save() {
    localStorage.setItem(this.storageKey, JSON.stringify(this.items));
  }

  add(fields) {
    const item = { client_id: newClientId(), ...fields };
    this.items.push(item);
    this.save();
    return item;
  }

  pending(filter = () => true) {
    return this.items.filter(filter);
  }

  drop(clientId) {
    this.items = this.items.filter((item) => item.client_id !== clientId);
    this.save();
  }

  // Send in order, one at a time; stop at the first network failure and
  // leave the rest for the next flush (on reconnect).
  async flush(handlers) {
    const { onAck, onFinalError } = handlers;
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.items.length) {
        const item = this.items[0];
        let ack;
        try {
          ack = await this.send(item);
        } catch {
          // Timeout or disconnected: the reconnect flushes, and so does
          // the retry timer if the connection never dropped.
          this.scheduleRetry(handlers);
          return;
        }
        if (ack && ack.ok) {
          this.drop(item.client_id);
          this.retryDelay = FIRST_RETRY_MS;
          onAck(item, ack);
        } else if (ack && FINAL_ERRORS.has(ack.error?.code)) {
          this.drop(item.client_id);
          onFinalError(item, ack.error);
        } else {
          this.scheduleRetry(handlers); // rate limited or server trouble
          return;
        }
      }
    } finally {
      this.flushing = false;
    }
  }
}

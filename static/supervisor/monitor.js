// Live conversations on the supervisor board: every active chat with its
// counsellor, level and duration; "Watch" opens a read-only live transcript
// (each watch is audited), with a whisper box that reaches only the
// counsellor, and "Join openly" to enter the chat beside them.
import { $, cell, element } from "/static/shared/dom.js";
import { request } from "/static/shared/socket.js";
import { Transcript, errorText, format, levelBadge } from "/static/shared/transcript.js";

const REFRESH_MS = 15000;

export class Monitor {
  constructor(socket, strings) {
    this.socket = socket;
    this.strings = strings;
    this.labels = strings.monitor;
    this.watching = null; // conversation id
    this.transcript = null;
    this.items = [];
    socket.on("connect", () => this.reconnect());
    // Claims, releases and hand-overs all change the queue: refresh then.
    socket.on("queue", () => this.refresh());
    socket.on("message", (message) => {
      if (message.conversation_id === this.watching) this.transcript.add(message);
    });
    socket.on("whisper", (note) => {
      if (note.conversation_id === this.watching) this.showWhisper(note);
    });
    $("monitor-stop").addEventListener("click", () => this.stop());
    $("monitor-join").addEventListener("click", () => this.join());
    $("whisper-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.whisper();
    });
    setInterval(() => this.refresh(), REFRESH_MS);
  }

  request(event, payload) {
    return request(this.socket, event, payload);
  }

  fail(error) {
    $("monitor-title").textContent = errorText(this.strings, error);
  }

  async refresh() {
    const ack = await this.request("live_conversations", {});
    if (!ack.ok) return;
    this.items = ack.conversations;
    this.render();
  }

  duration(item) {
    if (!item.claimed_at) return "";
    const minutes = Math.floor((Date.now() - new Date(item.claimed_at).getTime()) / 60000);
    return format(this.labels.minutes, { minutes: Math.max(0, minutes) });
  }

  render() {
    $("live").replaceChildren(...this.items.map((item) => {
      const tr = document.createElement("tr");
      tr.dataset.conversationId = item.conversation_id;
      if (item.conversation_id === this.watching) tr.className = "watching";
      const watch = element("button", "secondary", this.labels.watch);
      watch.type = "button";
      watch.addEventListener("click", () => this.watch(item.conversation_id));
      tr.append(
        cell(`#${item.conversation_id}`),
        cell(levelBadge(item.risk_level, this.strings.levels)),
        cell(item.holder_name || this.labels.unclaimed),
        cell(this.duration(item)),
        cell(watch),
      );
      return tr;
    }));
    $("live-count").textContent = this.items.length;
    $("live-empty").hidden = this.items.length > 0;
  }

  async watch(id) {
    if (this.watching !== null && this.watching !== id) {
      await this.request("unmonitor", { conversation_id: this.watching });
    }
    const list = $("monitor-messages");
    this.transcript = new Transcript(list, {
      resident: this.strings.resident,
      counselor: this.strings.transfers.roles.counselor,
      social_worker: this.strings.social_worker,
      supervisor: this.strings.supervisor,
      system: this.strings.system,
      sending: this.strings.sending,
      failed: this.strings.failed,
      levels: this.strings.levels,
      signals: this.strings.signals,
      notices: {
        social_worker_joined: this.strings.social_worker_joined,
        counselor_changed: this.strings.counselor_changed,
        supervisor_joined: this.strings.supervisor_joined,
      },
    });
    this.transcript.clear();
    this.watching = id;
    $("monitor-panel").hidden = false;
    $("monitor-console").hidden = true;
    $("monitor-join").hidden = false;
    $("monitor-title").textContent = format(this.labels.watching, { id });
    await this.load();
    this.render();
  }

  // Watching again after a reconnect picks up from the last message held.
  async load() {
    for (;;) {
      const ack = await this.request("monitor", {
        conversation_id: this.watching, after_seq: this.transcript.lastSeq,
      });
      if (!ack.ok) return this.fail(ack.error);
      ack.messages.forEach((message) => this.transcript.add(message));
      if (!ack.has_more) return;
    }
  }

  reconnect() {
    this.refresh();
    if (this.watching !== null) this.load();
  }

  async stop() {
    if (this.watching === null) return;
    await this.request("unmonitor", { conversation_id: this.watching });
    this.watching = null;
    $("monitor-panel").hidden = true;
    this.render();
  }

  async whisper() {
    const body = $("whisper-body").value.trim();
    if (!body || this.watching === null) return;
    const ack = await this.request("whisper", { conversation_id: this.watching, body });
    if (!ack.ok) return this.fail(ack.error);
    $("whisper-body").value = "";
    this.showWhisper(ack.note);
  }

  showWhisper(note) {
    const list = $("monitor-messages");
    if (list.querySelector(`[data-note-id="${note.note_id}"]`)) return;
    const item = element("li", "msg whisper");
    item.dataset.noteId = note.note_id;
    item.append(
      element("span", "who", `${this.labels.whisper} · ${note.author_name}`),
      element("p", "body", note.body),
    );
    list.append(item);
  }

  async join() {
    const ack = await this.request("join_openly", { conversation_id: this.watching });
    if (!ack.ok) return this.fail(ack.error);
    $("monitor-title").textContent = this.labels.joined;
    $("monitor-join").hidden = true;
    $("monitor-console").hidden = false;
  }
}

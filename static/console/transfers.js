// Handing a conversation over, in the console: the Transfer dialog (on-duty
// colleagues with their load, a note, or back to the queue with a note), the
// offer banner a colleague answers, the holder's "waiting for…" line, and a
// supervisor's whispers shown in the conversation as private notes.
// Text only, never HTML.
import { $, button, element } from "/static/shared/dom.js";
import { format, levelBadge } from "/static/shared/transcript.js";

export class Transfers {
  // hooks: {request, toast, errorText, openConversation(conversation), appendNote(note),
  //         transcriptList(id)}
  constructor(socket, strings, hooks) {
    this.strings = strings;
    this.labels = strings.transfers;
    this.hooks = hooks;
    this.selected = null; // {id, state, isHolder}
    this.incoming = new Map(); // transfer_id -> offer
    this.outgoing = new Map(); // conversation_id -> offer
    this.dialog = $("transfer");
    this.form = $("transfer-form");
    $("transfer-open").addEventListener("click", () => this.openDialog());
    $("transfer-cancel").addEventListener("click", () => this.dialog.close());
    $("transfer-queue").addEventListener("click", () => this.toQueue());
    $("transfer-withdraw").addEventListener("click", () => this.withdraw());
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.offer();
    });
    socket.on("transfers", ({ incoming, outgoing }) => {
      this.incoming = new Map(incoming.map((offer) => [offer.transfer_id, offer]));
      this.outgoing = new Map(outgoing.map((offer) => [offer.conversation_id, offer]));
      this.renderOffers();
      this.renderPending();
    });
    socket.on("transfer_offer", (offer) => {
      this.incoming.set(offer.transfer_id, offer);
      this.renderOffers();
      this.hooks.toast(format(this.labels.offer_from, {
        name: offer.from_name, id: offer.conversation_id,
      }));
    });
    socket.on("transfer_update", (offer) => this.update(offer));
    socket.on("whisper", (note) => this.showWhisper(note));
  }

  // Called by the console whenever a conversation is shown (or none).
  show(id, entry, isHolder) {
    this.selected = entry ? { id, state: entry.state, isHolder } : null;
    $("transfer-open").hidden = !entry || entry.state !== "active" || !isHolder;
    this.renderPending();
  }

  async openDialog() {
    if (!this.selected) return;
    // A note typed before Esc or Cancel is kept for the same conversation.
    if (this.draftFor !== this.selected.id) this.form.reset();
    this.draftFor = this.selected.id;
    this.error("");
    const ack = await this.hooks.request("colleagues", {});
    if (!ack.ok) return this.hooks.toast(this.hooks.errorText(this.strings, ack.error));
    const list = $("transfer-colleagues");
    list.replaceChildren(...ack.colleagues.map((colleague) => {
      const item = element("li");
      const label = element("label", "inline");
      const radio = element("input");
      radio.type = "radio";
      radio.name = "to_user_id";
      radio.value = colleague.user_id;
      label.append(radio, ` ${format(this.labels.colleague, {
        name: colleague.name,
        role: this.labels.roles[colleague.role] || colleague.role,
        count: colleague.load,
      })}`);
      item.append(label);
      return item;
    }));
    $("transfer-none").textContent = this.labels.no_colleagues;
    $("transfer-none").hidden = ack.colleagues.length > 0;
    this.dialog.showModal();
  }

  error(text) {
    $("transfer-error").textContent = text;
    $("transfer-error").hidden = !text;
  }

  async offer() {
    const data = new FormData(this.form);
    const to = data.get("to_user_id");
    if (!to) return this.error(this.labels.choose_colleague);
    const ack = await this.hooks.request("transfer", {
      conversation_id: this.selected.id,
      to_user_id: Number(to),
      note: (data.get("note") || "").trim(),
    });
    if (!ack.ok) return this.error(this.hooks.errorText(this.strings, ack.error));
    this.dialog.close();
    this.forgetDraft();
    this.update(ack.transfer);
  }

  async toQueue() {
    const note = (new FormData(this.form).get("note") || "").trim();
    if (!note) return this.error(this.labels.note_needed);
    const ack = await this.hooks.request("transfer_to_queue", {
      conversation_id: this.selected.id, note,
    });
    if (!ack.ok) return this.error(this.hooks.errorText(this.strings, ack.error));
    this.dialog.close();
    this.forgetDraft();
    this.hooks.toast(this.labels.returned);
  }

  forgetDraft() {
    this.form.reset();
    this.draftFor = null;
  }

  async withdraw() {
    const offer = this.selected && this.outgoing.get(this.selected.id);
    if (!offer) return;
    const ack = await this.hooks.request("transfer_cancel", { transfer_id: offer.transfer_id });
    if (!ack.ok) return this.hooks.toast(this.hooks.errorText(this.strings, ack.error));
    this.update(ack.transfer);
  }

  // Every change of an offer, ours or to us, from any tab.
  update(offer) {
    const mine = String(offer.from_id) === document.body.dataset.userId;
    const values = { name: mine ? offer.to_name : offer.from_name, id: offer.conversation_id };
    if (offer.state === "pending") {
      if (mine) this.outgoing.set(offer.conversation_id, offer);
    } else {
      this.incoming.delete(offer.transfer_id);
      if (this.outgoing.get(offer.conversation_id)?.transfer_id === offer.transfer_id) {
        this.outgoing.delete(offer.conversation_id);
      }
      const text = {
        accepted: mine ? format(this.labels.accepted, values) : format(this.labels.now_yours, values),
        declined: mine ? format(this.labels.declined, values) : "",
        cancelled: format(this.labels.cancelled, values),
      }[offer.state];
      const reason = offer.state === "declined" && offer.decision_note
        ? ` ${offer.decision_note}` : "";
      if (text) this.hooks.toast(text + reason);
    }
    this.renderOffers();
    this.renderPending();
  }

  renderPending() {
    const line = $("transfer-pending");
    const offer = this.selected && this.outgoing.get(this.selected.id);
    line.hidden = !offer;
    if (offer) {
      $("transfer-pending-text").textContent =
        format(this.labels.offered, { name: offer.to_name });
    }
  }

  renderOffers() {
    const root = $("transfer-offers");
    root.replaceChildren(...[...this.incoming.values()].map((offer) => this.offerNode(offer)));
    root.hidden = this.incoming.size === 0;
  }

  offerNode(offer) {
    const node = element("div", "transfer-offer");
    node.dataset.transferId = offer.transfer_id;
    node.dataset.conversationId = offer.conversation_id;
    const title = element("strong", "", format(this.labels.offer_from, {
      name: offer.from_name, id: offer.conversation_id,
    }));
    const tags = element("div", "tags");
    tags.append(
      levelBadge(offer.risk_level, this.strings.levels),
      ...offer.needs.map((need) => element("span", "tag need-tag", this.strings.needs[need] || need)),
    );
    node.append(title, tags);
    if (offer.note) node.append(element("blockquote", "transfer-note", offer.note));
    const reason = element("input", "decline-note");
    reason.maxLength = 1000;
    reason.placeholder = this.labels.decline_note;
    reason.setAttribute("aria-label", this.labels.decline_note);
    // The safe answer first; declining (with its optional reason) stands
    // apart, so a hurried click does not turn a colleague away.
    const actions = element("div", "actions");
    const decline = element("div", "decline-group");
    decline.append(
      reason,
      button(this.labels.decline, () => this.answer(offer, "transfer_decline", {
        note: reason.value.trim(),
      })),
    );
    actions.append(
      button(this.labels.accept, () => this.answer(offer, "transfer_accept", {}), "primary"),
      decline,
    );
    node.append(actions);
    return node;
  }

  async answer(offer, event, extra) {
    const ack = await this.hooks.request(event, { transfer_id: offer.transfer_id, ...extra });
    if (!ack.ok) {
      // A stale or withdrawn offer is gone either way.
      if (["transfer_stale", "conflict", "not_found"].includes(ack.error?.code)) {
        this.incoming.delete(offer.transfer_id);
        this.renderOffers();
      }
      return this.hooks.toast(this.hooks.errorText(this.strings, ack.error));
    }
    this.update(ack.transfer);
    if (event === "transfer_accept") await this.hooks.openConversation(ack.conversation);
  }

  // A supervisor's private word: in the conversation (marked) and its notes.
  showWhisper(note) {
    const list = this.hooks.transcriptList(note.conversation_id);
    if (list) {
      const item = element("li", "msg whisper");
      item.append(
        element("span", "who", this.labels.note_kinds.whisper),
        element("p", "body", note.body),
        element("span", "meta", new Date(note.created_at).toLocaleTimeString(document.documentElement.lang, {
          hour: "2-digit", minute: "2-digit",
        })),
      );
      list.append(item);
      item.scrollIntoView({ block: "end" });
    }
    if (this.selected?.id === note.conversation_id) this.hooks.appendNote(note);
    this.hooks.toast(`${this.labels.note_kinds.whisper}: ${note.body}`);
  }
}

// Looking after the counsellor: the break banner (no claims while on a break),
// a shift clock with a gentle reminder, the pause-and-debrief offer after a
// heavy conversation, and a returning resident's earlier contacts.
import { $ } from "/static/shared/dom.js";
import { plural, timeOfDay } from "/static/shared/i18n.js";
import { format } from "/static/shared/transcript.js";

const SHIFT_KEY = "hotline.console.shiftStart";

export class Wellbeing {
  constructor(strings, request, toast) {
    this.strings = strings;
    this.request = request;
    this.toast = toast;
    this.breakUntil = null;
    this.lastConversation = null;
    this.onBreakChange = () => {};
    $("take-break").addEventListener("click", () => this.pause(10));
    $("end-break").addEventListener("click", () => this.resume());
    for (const button of document.querySelectorAll("#pause-offer [data-break]")) {
      button.addEventListener("click", () => {
        this.pause(Number(button.dataset.break));
        $("pause-offer").close();
      });
    }
    $("ask-debrief").addEventListener("click", () => this.askDebrief());
    $("pause-offer-close").addEventListener("click", () => $("pause-offer").close());
    this.startShiftClock();
  }

  get onBreak() {
    return this.breakUntil !== null && new Date(this.breakUntil) > new Date();
  }

  // From the server (every tab of this person gets it).
  setBreak(until) {
    this.breakUntil = until;
    $("break-banner").hidden = !this.onBreak;
    $("take-break").hidden = this.onBreak;
    if (this.onBreak) {
      $("break-text").textContent = format(this.strings.on_break_until, { time: timeOfDay(until) });
      clearTimeout(this.breakTimer);
      this.breakTimer = setTimeout(() => this.setBreak(null), new Date(until) - new Date());
    }
    this.onBreakChange(this.onBreak);
  }

  async pause(minutes) {
    const ack = await this.request("pause", { minutes });
    if (ack.ok) this.setBreak(ack.on_break_until);
  }

  async resume() {
    const ack = await this.request("resume", {});
    if (ack.ok) this.setBreak(null);
  }

  offerPause(conversationId) {
    this.lastConversation = conversationId;
    $("debrief-note").value = "";
    $("pause-offer").showModal();
  }

  async askDebrief() {
    const ack = await this.request("debrief", {
      conversation_id: this.lastConversation,
      note: $("debrief-note").value.trim(),
    });
    if (!ack.ok) return;
    this.toast(this.strings.debrief_sent);
    $("pause-offer").close();
  }

  // Minutes since this browser tab's shift began (kept across reloads).
  startShiftClock() {
    let start = Number(sessionStorage.getItem(SHIFT_KEY));
    if (!start) {
      start = Date.now();
      sessionStorage.setItem(SHIFT_KEY, String(start));
    }
    const every = Number(document.body.dataset.breakReminderMinutes) || 90;
    let reminded = Math.floor((Date.now() - start) / 60000 / every);
    const tick = () => {
      const minutes = Math.floor((Date.now() - start) / 60000);
      $("shift-clock").textContent = format(this.strings.on_shift, {
        hours: Math.floor(minutes / 60), minutes: minutes % 60,
      });
      if (Math.floor(minutes / every) > reminded) {
        reminded = Math.floor(minutes / every);
        this.toast(format(this.strings.break_reminder, { minutes }));
      }
    };
    tick();
    setInterval(tick, 60000);
  }

  // A returning resident's earlier contacts (wrap-ups only), if they agreed.
  async showEarlier(conversationId) {
    // Once per conversation opened: every look is audited.
    if (conversationId === this.earlierFor) return;
    this.earlierFor = conversationId;
    const panel = $("earlier");
    panel.hidden = true;
    const ack = await this.request("history", { conversation_id: conversationId });
    if (!ack.ok || !ack.earlier.length) return;
    const s = this.strings;
    $("earlier-title").textContent =
      plural("earlier_contacts", ack.earlier.length, {}, s.earlier_contacts);
    $("earlier-list").replaceChildren(...ack.earlier.map((contact) => {
      const li = document.createElement("li");
      const head = document.createElement("strong");
      head.textContent = [
        new Date(contact.created_at).toLocaleDateString(document.documentElement.lang),
        s[`kind_${contact.channel}`] || contact.channel,
        s.levels[contact.risk_level] || contact.risk_level,
        s.outcomes[contact.outcome] || contact.outcome || s.no_wrap_up,
      ].join(" · ");
      li.append(head);
      const details = [
        contact.needs.map((need) => s.needs[need] || need).join(", "),
        contact.referrals.length ? format(s.referred_to, { names: contact.referrals.join(", ") }) : "",
        contact.follow_up ? s.follow_up_needed : "",
      ].filter(Boolean).join(" · ");
      if (details) {
        const meta = document.createElement("span");
        meta.className = "meta";
        meta.textContent = details;
        li.append(meta);
      }
      if (contact.summary) {
        const summary = document.createElement("p");
        summary.textContent = contact.summary;
        li.append(summary);
      }
      return li;
    }));
    panel.hidden = false;
  }
}

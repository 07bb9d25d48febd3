// Callbacks in the console: the queue card details (masked number, window,
// due/overdue), and the call panel for a held callback (full number, call
// guide, logging each attempt).
import { element } from "/static/shared/dom.js";
import { plural } from "/static/shared/i18n.js";
import { format } from "/static/shared/transcript.js";

// Times are shown in the service's zone, as the resident chose them.
const timeZone = document.body.dataset.timezone || undefined;
const time = new Intl.DateTimeFormat(document.documentElement.lang, { hour: "2-digit", minute: "2-digit", timeZone });
const day = new Intl.DateTimeFormat(document.documentElement.lang, { month: "short", day: "numeric", timeZone });

export function windowText(strings, startIso, endIso) {
  const start = new Date(startIso);
  return format(strings.callback_window, {
    day: day.format(start) === day.format(new Date()) ? strings.today : day.format(start),
    start: time.format(start),
    end: time.format(new Date(endIso)),
  });
}

// Due and overdue change with the clock, so they are worked out here (the
// server's flags are only right at the moment it sent the queue).
export function callbackTiming(item, now = Date.now()) {
  const callback = item.callback;
  return {
    due: new Date(item.waiting_since).getTime() <= now,
    overdue: new Date(callback.window_end).getTime() < now,
  };
}

export function callbackQueueDetails(item, strings) {
  const { due, overdue } = callbackTiming(item);
  const details = document.createElement("div");
  details.className = "callback-details";
  const state = overdue ? "overdue" : due ? "due" : "later";
  details.append(
    element("span", "phone-masked", item.callback.phone_masked),
    element("span", "meta", windowText(strings, item.callback.window_start, item.callback.window_end)),
    element("span", `tag timing-${state}`, strings[`callback_${state}`]),
  );
  if (item.callback.attempts) {
    const tries = item.callback.attempts;
    details.append(element("span", "meta", plural("callback_tries", tries, {}, strings.callback_tries)));
  }
  return details;
}

// The panel shown instead of the chat composer while a callback is selected.
export class CallPanel {
  constructor(root, strings, request, { onDone, toast, errorText }) {
    this.root = root;
    this.strings = strings;
    this.request = request;
    this.onDone = onDone;
    this.toast = toast;
    this.errorText = errorText;
    this.conversationId = null;
    root.querySelector("form").addEventListener("submit", (event) => this.log(event));
  }

  async show(conversationId) {
    // Selecting the same callback again (every queue or held update does)
    // must not wipe what the counsellor has started to fill in.
    if (conversationId !== this.conversationId) this.root.querySelector("form").reset();
    this.conversationId = conversationId;
    this.root.hidden = false;
    const ack = await this.request("call_sheet", { conversation_id: conversationId });
    if (conversationId !== this.conversationId) return;
    if (!ack.ok) {
      this.toast(this.errorText(this.strings, ack.error));
      return;
    }
    this.render(ack.sheet);
  }

  hide() {
    this.conversationId = null;
    this.root.hidden = true;
  }

  render(sheet) {
    const s = this.strings;
    const phone = this.root.querySelector(".call-phone");
    phone.textContent = sheet.phone || s.callback_number_erased;
    phone.href = sheet.phone ? `tel:${sheet.phone.replace(/[^+\d]/g, "")}` : "#";
    this.root.querySelector(".call-window").textContent =
      windowText(s, sheet.window_start, sheet.window_end);
    this.root.querySelector(".call-tries").textContent =
      format(s.callback_tries_of, { count: sheet.attempts, max: sheet.max_attempts });
    const guide = [
      sheet.may_say_hotline ? s.guide_may_say_hotline : s.guide_do_not_say_hotline,
      sheet.may_leave_message ? s.guide_may_leave_message : s.guide_no_message,
      s.guide_check_safe,
    ];
    this.root.querySelector(".call-guide").replaceChildren(...guide.map((line) => {
      const li = document.createElement("li");
      li.textContent = line;
      return li;
    }));
    this.root.querySelector(".call-history").replaceChildren(...sheet.history.map((entry) => {
      const li = document.createElement("li");
      li.textContent = [
        time.format(new Date(entry.at)),
        s.call_outcomes[entry.outcome] || entry.outcome,
        entry.note,
      ].filter(Boolean).join(" · ");
      return li;
    }));
  }

  async log(event) {
    event.preventDefault();
    const form = new FormData(event.target);
    const outcome = form.get("outcome");
    if (!outcome) return;
    const ack = await this.request("attempt", {
      conversation_id: this.conversationId,
      outcome,
      note: form.get("note") || "",
    });
    if (!ack.ok) return this.toast(this.errorText(this.strings, ack.error));
    event.target.reset();
    const s = this.strings;
    if (ack.result === "reached") {
      this.toast(s.call_reached);
      return this.show(this.conversationId);
    }
    if (ack.result === "retry") {
      const at = time.format(new Date(ack.next_call_at));
      this.toast(format(s.call_retry, { time: at }));
    } else {
      this.toast(s.call_closed);
    }
    this.onDone(this.conversationId);
  }
}

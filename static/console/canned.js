// Quick replies (canned responses) in the console. Ctrl+K (⌘K on a Mac) or
// the button beside the composer opens a picker over the shared library and
// the counsellor's own replies, in the conversation's language, with the
// resident's name and the counsellor's filled in. Type to filter, ↑/↓ to
// choose, Enter puts the text into the reply box (it is not sent), Esc
// closes; focus always returns to the reply box. Below the composer: what
// the resident likes to be called, saving the reply box as a personal quick
// reply, and deleting personal ones. Text only, never HTML.
//
// Ctrl+K because no Chinese input method uses it and pages may take it over
// from the browser's search shortcut; Alt+/ types "÷" on a Mac keyboard.

import { $, element } from "/static/shared/dom.js";

function isShortcut(event) {
  return (event.ctrlKey || event.metaKey) && !event.altKey && !event.shiftKey
    && !event.isComposing && event.key.toLowerCase() === "k";
}

function isMac() {
  const platform = navigator.userAgentData?.platform || navigator.platform || "";
  return /mac|iphone|ipad/i.test(platform);
}

// Every term must appear in the title, the text or the category's name.
function matches(item, terms, categories) {
  const haystack = `${item.title}\n${item.text}\n${categories[item.category] || ""}`
    .toLowerCase();
  return terms.every((term) => haystack.includes(term));
}

class QuickReplies {
  constructor({ strings, request, toast, errorText, selected }) {
    this.strings = strings;
    this.labels = strings.canned;
    this.request = request;
    this.toast = toast;
    this.errorText = errorText;
    this.selected = selected;
    this.conversationId = null;
    this.items = [];
    this.loaded = false;
    this.shown = [];
    this.active = 0;
    this.loading = Promise.resolve();

    this.composer = $("composer");
    this.textarea = $("body");
    this.dialog = $("canned-picker");
    this.search = $("canned-search");
    this.options = $("canned-options");
    this.empty = $("canned-empty");
    this.panel = $("canned-panel");
    this.nameForm = $("resident-name-form");
    this.nameInput = this.nameForm.elements.name;
    this.saveForm = $("canned-save-form");
    this.mine = $("canned-mine");

    if (isMac()) this.composer.querySelector(".canned-key").textContent = "⌘K";
    this.textarea.setAttribute("aria-keyshortcuts", "Control+K Meta+K");
    document.addEventListener("keydown", (event) => this.onShortcut(event));
    $("canned-open").addEventListener("click", () => this.open());
    this.search.addEventListener("input", () => {
      this.active = 0;
      this.render();
    });
    this.search.addEventListener("keydown", (event) => this.onKey(event));
    this.dialog.addEventListener("close", () => this.textarea.focus());
    this.nameForm.addEventListener("submit", (event) => this.saveName(event));
    this.saveForm.addEventListener("submit", (event) => this.saveOwn(event));
    this.panel.addEventListener("toggle", () => {
      if (this.panel.open) this.loadMine();
    });
    // console.js re-renders the title and shows or hides the composer
    // whenever the counsellor selects a conversation: follow it.
    const observer = new MutationObserver(() => this.follow());
    observer.observe($("conversation-title"), { childList: true, characterData: true, subtree: true });
    observer.observe(this.composer, { attributes: true, attributeFilter: ["hidden"] });
    observer.observe($("conversation"), { attributes: true, attributeFilter: ["hidden"] });
  }

  // The reply box is there to write into: an active chat is selected.
  usable() {
    return this.selected() !== null && !$("conversation").hidden && !this.composer.hidden;
  }

  follow() {
    const id = this.usable() ? this.selected() : null;
    this.panel.hidden = id === null;
    if (id === this.conversationId) return;
    this.conversationId = id;
    this.items = [];
    this.loaded = false;
    this.nameInput.value = "";
    this.nameInput.dataset.saved = "";
    if (id !== null) this.loading = this.load();
  }

  onShortcut(event) {
    if (!isShortcut(event)) return;
    if (this.dialog.open) {
      event.preventDefault();
      this.search.focus();
    } else if (this.usable() && !document.querySelector("dialog[open]")) {
      // Not over the wrap-up or another dialog: the reply box is behind it.
      event.preventDefault();
      this.open();
    }
  }

  // The library for the selected conversation, filled in by the server.
  async load() {
    const id = this.conversationId;
    if (id === null) return;
    const ack = await this.request("canned", { conversation_id: id });
    if (id !== this.conversationId) return;
    if (!ack.ok) {
      this.toast(this.errorText(this.strings, ack.error));
      return;
    }
    this.items = ack.responses;
    this.loaded = true;
    // Do not overwrite a name the counsellor is still typing.
    if (this.nameInput.value === (this.nameInput.dataset.saved || "")) {
      this.nameInput.value = ack.resident_name || "";
      this.nameInput.dataset.saved = ack.resident_name || "";
    }
    if (ack.lang) this.saveForm.elements.lang.value = ack.lang;
    if (this.dialog.open) this.render();
  }

  open() {
    this.follow();
    if (this.conversationId === null) return;
    this.search.value = "";
    this.active = 0;
    this.render();
    this.dialog.showModal();
    this.search.focus();
    // Fetch again: the name may have changed since the list was loaded.
    this.loading = this.load();
  }

  render() {
    const terms = this.search.value.toLowerCase().split(/\s+/).filter(Boolean);
    this.shown = this.items.filter((item) => matches(item, terms, this.labels.categories));
    this.active = Math.min(this.active, Math.max(0, this.shown.length - 1));
    this.options.replaceChildren(...this.shown.map((item, index) => {
      const li = element("li", "canned-option");
      li.id = `canned-option-${item.id}`;
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", String(index === this.active));
      li.dataset.responseId = item.id;
      const head = element("div", "canned-option-head");
      head.append(
        element("strong", "canned-title", item.title),
        element("span", "tag", this.labels.categories[item.category] || item.category),
        element("span", "tag", item.shared ? this.labels.shared : this.labels.mine),
      );
      li.append(head, element("p", "canned-text", item.text));
      // mousedown would move focus out of the search box first.
      li.addEventListener("mousedown", (event) => event.preventDefault());
      li.addEventListener("click", () => this.choose(index));
      return li;
    }));
    const current = this.shown[this.active];
    if (current) this.search.setAttribute("aria-activedescendant", `canned-option-${current.id}`);
    else this.search.removeAttribute("aria-activedescendant");
    this.empty.hidden = this.shown.length > 0;
    this.empty.textContent = this.loaded ? this.labels.no_results : this.labels.loading;
  }

  move(step) {
    if (!this.shown.length) return;
    this.active = (this.active + step + this.shown.length) % this.shown.length;
    this.render();
    this.options.children[this.active]?.scrollIntoView({ block: "nearest" });
  }

  async onKey(event) {
    if (event.isComposing || event.keyCode === 229) return; // an input method is busy
    if (event.key === "ArrowDown") {
      event.preventDefault();
      this.move(1);
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      this.move(-1);
    } else if (event.key === "Escape") {
      event.preventDefault();
      this.dialog.close();
    } else if (event.key === "Enter") {
      event.preventDefault();
      // Typed faster than the list arrived: choose once it is there.
      await this.loading;
      this.render();
      this.choose(this.active);
    }
  }

  choose(index) {
    const item = this.shown[index];
    if (!item || !this.dialog.open) return;
    this.dialog.close();
    this.insert(item.text);
  }

  // Into the reply box at the cursor (replacing a selection), not sent.
  insert(text) {
    const box = this.textarea;
    const start = box.selectionStart ?? box.value.length;
    const end = box.selectionEnd ?? start;
    const before = box.value.slice(0, start);
    const gap = before && !/\s$/.test(before) ? " " : "";
    box.setRangeText(gap + text, start, end, "end");
    box.focus();
    box.dispatchEvent(new Event("input", { bubbles: true }));
  }

  async saveName(event) {
    event.preventDefault();
    const id = this.conversationId;
    if (id === null) return;
    const name = this.nameInput.value.trim();
    const ack = await this.request("set_name", { conversation_id: id, name });
    if (!ack.ok) return this.toast(this.errorText(this.strings, ack.error));
    if (id !== this.conversationId) return;
    this.nameInput.value = ack.name || "";
    this.nameInput.dataset.saved = ack.name || "";
    this.toast(ack.name ? this.labels.name_saved : this.labels.name_cleared);
    this.loading = this.load();
  }

  async saveOwn(event) {
    event.preventDefault();
    const body = this.textarea.value.trim();
    if (!body) {
      this.toast(this.labels.write_first);
      this.textarea.focus();
      return;
    }
    const form = this.saveForm.elements;
    const ack = await this.request("canned_save", {
      category: form.category.value,
      lang: form.lang.value,
      title: form.title.value.trim(),
      body,
    });
    if (!ack.ok) return this.toast(this.errorText(this.strings, ack.error));
    form.title.value = "";
    this.toast(this.labels.saved);
    this.loading = this.load();
    this.loadMine();
  }

  // The counsellor's own replies, in every language, to delete.
  async loadMine() {
    const ack = await this.request("canned", {});
    if (!ack.ok) return this.toast(this.errorText(this.strings, ack.error));
    const own = ack.responses.filter((item) => !item.shared);
    if (!own.length) {
      this.mine.replaceChildren(element("li", "muted", this.labels.mine_none));
      return;
    }
    this.mine.replaceChildren(...own.map((item) => {
      const li = element("li", "canned-mine-item");
      li.dataset.responseId = item.id;
      const remove = element("button", "link", this.labels.delete);
      remove.type = "button";
      remove.addEventListener("click", () => this.deleteOwn(item.id));
      li.append(
        element("strong", "canned-title", item.title),
        element("span", "tag", this.labels.languages[item.lang] || item.lang),
        element("span", "tag", this.labels.categories[item.category] || item.category),
        remove,
        element("p", "canned-text", item.body),
      );
      return li;
    }));
  }

  async deleteOwn(id) {
    const ack = await this.request("canned_delete", { id });
    if (!ack.ok) return this.toast(this.errorText(this.strings, ack.error));
    this.toast(this.labels.deleted);
    this.loading = this.load();
    this.loadMine();
  }
}

export function initQuickReplies(options) {
  return new QuickReplies(options);
}

// Community resources in the console: suggestions for the open conversation
// (from its needs, risk, area and language), a search over the whole
// directory, the resident's area, sending a resource as a referral card, and
// the referrals listed in the wrap-up. Text only, never HTML.
import { element } from "/static/shared/dom.js";
import { format } from "/static/shared/transcript.js";

export class ResourcePanel {
  constructor(root, strings, request, { toast, errorText }) {
    this.root = root;
    this.strings = strings;
    this.labels = strings.resources;
    this.request = request;
    this.toast = toast;
    this.errorText = errorText;
    this.conversationId = null;
    this.kind = "chat";
    this.list = root.querySelector(".resource-list");
    this.empty = root.querySelector(".resources-empty");
    this.areaInput = root.querySelector("input[name=area]");
    this.queryInput = root.querySelector("input[name=query]");
    root.querySelector(".area-form").addEventListener("submit", (event) => this.saveArea(event));
    root.querySelector(".resource-search").addEventListener("submit", (event) => {
      event.preventDefault();
      this.load();
    });
    this.queryInput.addEventListener("search", () => this.load()); // the clear button
  }

  // Shown for an active conversation; selecting the same one again keeps
  // the search and the area being typed.
  show(conversationId, kind) {
    if (conversationId !== this.conversationId) {
      this.queryInput.value = "";
      this.areaInput.value = "";
      this.areaInput.dataset.saved = "";
      this.list.replaceChildren();
    }
    this.conversationId = conversationId;
    this.kind = kind || "chat";
    this.root.hidden = false;
    return this.load();
  }

  hide() {
    this.conversationId = null;
    this.root.hidden = true;
  }

  refresh() {
    if (this.conversationId !== null && !this.queryInput.value.trim()) this.load();
  }

  async load() {
    const id = this.conversationId;
    if (id === null) return;
    const query = this.queryInput.value.trim();
    const ack = await this.request("resources", { conversation_id: id, query });
    if (id !== this.conversationId) return;
    if (!ack.ok) return this.toast(this.errorText(this.strings, ack.error));
    // Do not overwrite an area the counsellor is still typing.
    if (this.areaInput.value === (this.areaInput.dataset.saved || "")) {
      this.areaInput.value = ack.area || "";
      this.areaInput.dataset.saved = ack.area || "";
    }
    this.root.querySelector("#resource-areas").replaceChildren(
      ...ack.areas.map((area) => {
        const option = document.createElement("option");
        option.value = area;
        return option;
      }),
    );
    this.render(ack.resources, query);
  }

  render(resources, query) {
    this.list.replaceChildren(...resources.map((resource) => this.item(resource)));
    this.empty.textContent = query ? this.labels.no_results : this.labels.no_suggestions;
    this.empty.hidden = resources.length > 0;
  }

  item(resource) {
    const labels = this.labels;
    const li = element("li", "resource");
    li.dataset.resourceId = resource.resource_id;
    li.dataset.category = resource.category;
    const heading = element("div", "resource-heading");
    heading.append(
      element("strong", "resource-name", resource.name),
      element("span", "tag category-tag", labels.categories[resource.category] || resource.category),
    );
    const languages = resource.languages
      .map((code) => this.strings[`lang_${code}`] || code)
      .join(", ");
    const meta = element("p", "meta resource-meta");
    meta.append(
      element("span", "resource-area", resource.area || labels.citywide),
      element("span", "resource-contact", resource.contact),
    );
    if (resource.opening_hours) {
      meta.append(element("span", "resource-hours", resource.opening_hours));
    }
    if (languages) {
      meta.append(element("span", "resource-languages", format(labels.serves, { languages })));
    }
    li.append(heading, meta);
    if (resource.notes) li.append(element("p", "resource-notes", resource.notes));
    const send = element(
      "button",
      "primary send-resource",
      this.kind === "callback" ? labels.read_out : labels.send,
    );
    send.type = "button";
    send.addEventListener("click", () => this.send(resource, send));
    li.append(send);
    return li;
  }

  async send(resource, button) {
    button.disabled = true;
    const ack = await this.request("refer", {
      conversation_id: this.conversationId,
      resource_id: resource.resource_id,
    });
    button.disabled = false;
    if (!ack.ok) return this.toast(this.errorText(this.strings, ack.error));
    this.toast(ack.channel === "callback" ? this.labels.recorded : this.labels.sent);
  }

  async saveArea(event) {
    event.preventDefault();
    const area = this.areaInput.value.trim();
    const ack = await this.request("set_area", { conversation_id: this.conversationId, area });
    if (!ack.ok) return this.toast(this.errorText(this.strings, ack.error));
    this.areaInput.value = ack.area || "";
    this.areaInput.dataset.saved = ack.area || "";
    this.toast(this.labels.area_saved);
    this.queryInput.value = "";
    this.load();
  }

  // The wrap-up dialog lists the resources sent in the conversation; with
  // any sent, "referred" is offered as the outcome.
  async fillWrapUp(conversationId, list, outcomeSelect) {
    list.replaceChildren();
    const ack = await this.request("resources", { conversation_id: conversationId });
    if (!ack.ok) return;
    const labels = this.labels;
    if (!ack.referrals.length) {
      list.append(element("li", "muted", labels.referrals_none));
      return;
    }
    list.append(...ack.referrals.map((referral) => {
      const category = labels.categories[referral.category] || referral.category;
      const li = element("li", "wrap-up-referral", `${referral.resource_name} · ${category}`);
      li.dataset.referralId = referral.referral_id;
      return li;
    }));
    if (!outcomeSelect.value) outcomeSelect.value = "referred";
  }
}

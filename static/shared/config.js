// The limits and role rules the server enforces, from the page's
// hotline-config block (hotline/page_config.py, counselors/page_config.py),
// so no script types them a second time.
import { readJson } from "/static/shared/dom.js";

const config = readJson("hotline-config");

export const limits = config.limits;

// Whether the signed-in staff member's role is one ``rule`` names
// ("respond": escalations; "supervise": watching chats, early callbacks).
export function roleMay(rule) {
  return (config.roles?.[rule] || []).includes(document.body.dataset.role);
}

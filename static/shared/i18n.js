// Numbers, plurals, times and clocks in the page's language (the UI language
// the server chose), never the browser's: a Chinese console shows 19:39, not
// "07:39 PM", and English says "1 message", not "1 messages".

export const uiLocale = document.documentElement.lang || "zh-CN";
const pluralRules = new Intl.PluralRules(uiLocale);
const timeFormat = new Intl.DateTimeFormat(uiLocale, { hour: "2-digit", minute: "2-digit" });

// The page's plural forms, from the server's catalogue (ngettext), by name.
let pagePlurals = null;
function plurals() {
  if (pagePlurals === null) {
    const node = document.getElementById("plurals");
    pagePlurals = node ? JSON.parse(node.textContent) : {};
  }
  return pagePlurals;
}

// ``name``'s form for ``count`` (the page carries [one, other], enough for
// Chinese and English), with its placeholders filled; ``fallback`` when the
// page carries no such forms.
export function plural(name, count, values = {}, fallback = "") {
  const forms = plurals()[name];
  const template = forms ? forms[pluralRules.select(count) === "one" ? 0 : 1] : fallback;
  return template.replace(/\{(\w+)\}/g, (_, key) =>
    String(key === "count" ? count : values[key] ?? ""));
}

// A response clock: 0:07, 12:03, 1:02:03.
export function clock(totalSeconds) {
  const seconds = Math.max(0, Math.floor(totalSeconds));
  const two = (n) => String(n).padStart(2, "0");
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const rest = seconds % 60;
  return hours ? `${hours}:${two(minutes)}:${two(rest)}` : `${minutes}:${two(rest)}`;
}

export function timeOfDay(iso) {
  return timeFormat.format(new Date(iso));
}

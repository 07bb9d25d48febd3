// The small DOM helpers every page script shares, defined once here
// (tests/test_static_scripts.py keeps it that way). Text only, never HTML:
// message bodies, names and notes are untrusted.

export const $ = (id) => document.getElementById(id);

// <tag class="className">text</tag>; either may be left out.
export function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

// A table cell holding text or nodes.
export function cell(...children) {
  const td = document.createElement("td");
  td.append(...children);
  return td;
}

export function button(label, onClick, className = "secondary") {
  const node = element("button", className, label);
  node.type = "button";
  node.addEventListener("click", onClick);
  return node;
}

// An error line that hides itself when there is nothing to say.
export function showError(node, message) {
  node.textContent = message;
  node.hidden = !message;
}

// A <script type="application/json" id="..."> block the server rendered.
export function readJson(id) {
  return JSON.parse($(id).textContent);
}

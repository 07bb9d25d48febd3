// The crisis numbers as tap-to-call links, shown in an alert panel: when a
// crisis was detected and nobody is on duty, after a crisis callback note,
// and to a blocked contact.
export function showCrisisLines(panel, intro, lines, names) {
  const heading = document.createElement("p");
  heading.textContent = intro;
  const list = document.createElement("ul");
  for (const { key, number } of lines) {
    const link = document.createElement("a");
    link.href = `tel:${number}`;
    link.textContent = `${names[key] || key} ${number}`;
    const item = document.createElement("li");
    item.append(link);
    list.append(item);
  }
  panel.replaceChildren(heading, list);
  panel.hidden = false;
  panel.scrollIntoView({ block: "nearest" });
}

// Shows every <time datetime="..."> in the reader's own time zone (the
// server renders UTC).
for (const node of document.querySelectorAll("time[datetime]")) {
  const when = new Date(node.getAttribute("datetime"));
  if (!Number.isNaN(when.getTime())) {
    node.textContent = when.toLocaleString(document.documentElement.lang, {
      year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit",
    });
  }
}

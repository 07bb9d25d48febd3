// Staff are signed out after a spell without activity (STAFF_IDLE_MINUTES).
// Socket events keep only the open socket alive, so while someone is using a
// page we also tell the server over HTTP, which renews the session cookie that
// the next (re)connection presents.
const PING_EVERY_MS = 5 * 60 * 1000;
let lastPing = Date.now();

function ping() {
  if (Date.now() - lastPing < PING_EVERY_MS) return;
  lastPing = Date.now();
  fetch("/api/auth/session", { credentials: "same-origin" }).catch(() => {});
}

export function keepSignedInWhileActive() {
  for (const event of ["keydown", "pointerdown"]) {
    document.addEventListener(event, ping, { passive: true, capture: true });
  }
}

// Crisis alerts that a busy person cannot miss: a tone, a system
// notification and a flashing tab title, repeated until stopped.

let flashTimer = null;
let toneTimer = null;
const originalTitle = document.title;

function tone() {
  try {
    const context = new AudioContext();
    const oscillator = context.createOscillator();
    const gain = context.createGain();
    oscillator.frequency.value = 880;
    gain.gain.setValueAtTime(0.2, context.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, context.currentTime + 0.6);
    oscillator.connect(gain).connect(context.destination);
    oscillator.start();
    oscillator.stop(context.currentTime + 0.6);
    oscillator.onended = () => context.close();
  } catch {
    // No audio device, or autoplay blocked before any click: the title and
    // the notification still alert.
  }
}

export function startAlerts(text) {
  tone();
  if ("Notification" in window && Notification.permission === "granted") {
    new Notification(text, { tag: "hotline-escalation", requireInteraction: true });
  }
  clearInterval(flashTimer);
  clearInterval(toneTimer);
  let on = false;
  document.body.dataset.alerting = "1";
  flashTimer = setInterval(() => {
    on = !on;
    document.title = on ? `⚠ ${text}` : calmTitle();
  }, 1000);
  toneTimer = setInterval(tone, 10000);
}

export function stopAlerts() {
  clearInterval(flashTimer);
  clearInterval(toneTimer);
  flashTimer = toneTimer = null;
  delete document.body.dataset.alerting;
  document.title = calmTitle();
}

// The title the page shows between alerts (with its waiting and unread
// counts, kept by the console in data-calm-title).
function calmTitle() {
  return document.body.dataset.calmTitle || originalTitle;
}

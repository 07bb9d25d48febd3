// "A counsellor has joined": told to a resident who may have waited a long
// time in another tab or with the phone on the table. The title changes
// until they are back, a screen reader says it at once, the phone vibrates
// where it may, and a soft tone plays if they asked for one.
import { $ } from "/static/shared/dom.js";

const SOUND_KEY = "hotline.joinSound";
const VIBRATION_MS = [200, 100, 200];

let soundOn = false;
let audio = null;
let restoreTitle = null;

export function setupJoinSignal(button) {
  soundOn = sessionStorage.getItem(SOUND_KEY) === "1";
  button.setAttribute("aria-pressed", String(soundOn));
  button.addEventListener("click", () => {
    soundOn = !soundOn;
    button.setAttribute("aria-pressed", String(soundOn));
    sessionStorage.setItem(SOUND_KEY, soundOn ? "1" : "0");
    // Browsers only let a page play sound it was allowed to by a click:
    // open the audio now, and let the resident hear what it will sound like.
    if (soundOn) playTone();
  });
}

export function signalJoin(title) {
  announce(title);
  if (restoreTitle === null) {
    const original = document.title;
    restoreTitle = () => {
      document.title = original;
      restoreTitle = null;
    };
  }
  document.title = `● ${title}`;
  // Back on the page and doing something: the title has done its job.
  const seen = () => {
    if (document.hidden) return;
    restoreTitle?.();
    for (const type of ["keydown", "pointerdown"]) document.removeEventListener(type, seen);
  };
  for (const type of ["keydown", "pointerdown"]) document.addEventListener(type, seen);
  try {
    navigator.vibrate?.(VIBRATION_MS);
  } catch {
    // Not allowed without a recent tap on some phones: the title still says it.
  }
  if (soundOn) playTone();
}

// An assertive live region: said at once, even mid-sentence.
function announce(text) {
  const region = $("announcer");
  region.textContent = "";
  // A fresh text node after a tick is announced even if it repeats.
  setTimeout(() => {
    region.textContent = text;
  }, 50);
}

// Two soft notes, synthesised (no audio file to fetch).
function playTone() {
  try {
    audio = audio || new AudioContext();
    audio.resume();
    const start = audio.currentTime;
    for (const [offset, frequency] of [[0, 660], [0.25, 880]]) {
      const oscillator = audio.createOscillator();
      const gain = audio.createGain();
      oscillator.frequency.value = frequency;
      gain.gain.setValueAtTime(0.0001, start + offset);
      gain.gain.exponentialRampToValueAtTime(0.2, start + offset + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, start + offset + 0.4);
      oscillator.connect(gain).connect(audio.destination);
      oscillator.start(start + offset);
      oscillator.stop(start + offset + 0.45);
    }
  } catch {
    // No audio on this device: the other signals remain.
  }
}

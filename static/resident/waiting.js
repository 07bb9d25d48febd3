// Self-help while waiting (tabs, a paced-breathing circle) and the larger-text
// setting. Nothing here talks to the server, so the place in the queue is kept.
import { readStrings } from "/static/shared/transcript.js";

const TEXT_SIZE_KEY = "hotline.largeText";
const INHALE_MS = 4000;
const EXHALE_MS = 6000;

const strings = readStrings();
const $ = (id) => document.getElementById(id);

function setupTabs() {
  const tabs = [...document.querySelectorAll("#self-help [role=tab]")];
  for (const tab of tabs) {
    tab.addEventListener("click", () => {
      for (const other of tabs) {
        const selected = other === tab;
        other.setAttribute("aria-selected", String(selected));
        $(other.getAttribute("aria-controls")).hidden = !selected;
      }
    });
  }
}

// The circle grows for 4 s and shrinks for 6 s (a longer out-breath calms);
// the cue is spoken to screen readers through aria-live.
function setupBreathing() {
  const circle = $("breath-circle");
  const cue = $("breath-cue");
  const button = $("breath-toggle");
  let timer = null;

  function phase(inhale) {
    circle.dataset.phase = inhale ? "in" : "out";
    cue.textContent = inhale ? strings.breathe_in : strings.breathe_out;
    timer = setTimeout(() => phase(!inhale), inhale ? INHALE_MS : EXHALE_MS);
  }

  function stop() {
    clearTimeout(timer);
    timer = null;
    delete circle.dataset.phase;
    button.textContent = strings.breath_start;
  }

  button.addEventListener("click", () => {
    if (timer) return stop();
    button.textContent = strings.breath_stop;
    phase(true);
  });
}

function setupTextSize() {
  const button = $("text-size");
  const apply = (large) => {
    document.documentElement.classList.toggle("large-text", large);
    button.setAttribute("aria-pressed", String(large));
  };
  apply(localStorage.getItem(TEXT_SIZE_KEY) === "1");
  button.addEventListener("click", () => {
    const large = !document.documentElement.classList.contains("large-text");
    localStorage.setItem(TEXT_SIZE_KEY, large ? "1" : "0");
    apply(large);
  });
}

setupTabs();
setupBreathing();
setupTextSize();

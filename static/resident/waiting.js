// Self-help while waiting (tabs, a paced-breathing circle) and the larger-text
// setting. Nothing here talks to the server, so the place in the queue is kept.
import { $ } from "/static/shared/dom.js";
import { readStrings } from "/static/shared/transcript.js";

const TEXT_SIZE_KEY = "hotline.largeText";
const INHALE_SECONDS = 4;
const EXHALE_SECONDS = 6;

const strings = readStrings();

// The ARIA tabs pattern: one tab stop for the whole tab list, arrow keys
// (and Home, End) move between tabs and show each at once.
function setupTabs() {
  const tabs = [...document.querySelectorAll("#self-help [role=tab]")];
  const select = (tab) => {
    for (const other of tabs) {
      const selected = other === tab;
      other.setAttribute("aria-selected", String(selected));
      other.tabIndex = selected ? 0 : -1;
      $(other.getAttribute("aria-controls")).hidden = !selected;
    }
  };
  const steps = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };
  for (const [index, tab] of tabs.entries()) {
    tab.addEventListener("click", () => select(tab));
    tab.addEventListener("keydown", (event) => {
      let next = null;
      if (event.key in steps) next = tabs[(index + steps[event.key] + tabs.length) % tabs.length];
      else if (event.key === "Home") next = tabs[0];
      else if (event.key === "End") next = tabs.at(-1);
      if (!next) return;
      event.preventDefault();
      select(next);
      next.focus();
    });
  }
  select(tabs.find((tab) => tab.getAttribute("aria-selected") === "true") || tabs[0]);
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
    timer = setTimeout(() => phase(!inhale), (inhale ? INHALE_SECONDS : EXHALE_SECONDS) * 1000);
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

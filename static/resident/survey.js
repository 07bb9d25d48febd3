// The optional anonymous survey after a chat or a callback. One form, moved
// to the card that offers it; the conversation's own token authorises it,
// and each conversation is answered at most once.
import { $ } from "/static/shared/dom.js";

let currentToken = () => null;
let offeredToken = null;

export function setupSurvey(strings) {
  const form = $("survey");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const error = $("survey-error");
    error.hidden = true;
    const response = await fetch("/api/surveys", {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        Authorization: `Bearer ${currentToken()}`,
      },
      body: JSON.stringify({
        helpfulness: Number(data.get("helpfulness")),
        feels_safer: data.get("feels_safer"),
        comment: (data.get("comment") || "").trim(),
      }),
    }).catch(() => null);
    const body = await response?.json().catch(() => ({}));
    // Already answered counts as done: the answer is stored.
    if (response?.ok || body?.error?.code === "survey_answered") {
      form.hidden = true;
      $("survey-thanks").hidden = false;
      return;
    }
    error.textContent = body?.error?.message || strings.survey_failed;
    error.hidden = false;
  });
}

// Show the survey in ``slot`` for the conversation ``token()`` opens; a
// different conversation gets a fresh, empty form.
export function offerSurvey(slot, token) {
  slot.append($("survey-box"));
  currentToken = token;
  if (token() !== offeredToken) resetSurvey();
  offeredToken = token();
}

// A new conversation gets a fresh, empty survey.
export function resetSurvey() {
  $("survey").reset();
  $("survey").hidden = false;
  $("survey-thanks").hidden = true;
  $("survey-error").hidden = true;
}

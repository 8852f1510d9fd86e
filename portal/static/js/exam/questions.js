// The questions: one at a time, the navigation (each button says whether its question is
// answered), answers saved as they change, the current question kept over a reload, the
// review on the page and the final confirm before the submit.
import { $, cfg, SAVE_DEBOUNCE_MS } from "./config.js";
import { announce } from "./announce.js";
import { api } from "./api.js";
import { openModal } from "./dialogs.js";
import { closedElsewhere } from "./end.js";
import { log } from "./log.js";
import { flushMetrics } from "./metrics.js";
import { endProctoring } from "./sdk.js";
import { state } from "./state.js";
import { startClock } from "./timer.js";

const CURRENT_KEY = `exam.${cfg.attemptId}.question`;

function rememberedQuestion() {
  try { return Number(sessionStorage.getItem(CURRENT_KEY)) || 0; } catch (e) { return 0; }
}

function rememberQuestion(index) {
  try { sessionStorage.setItem(CURRENT_KEY, String(index)); } catch (e) { /* private mode */ }
}

export function isAnswered(q) {
  return q.answer !== null && q.answer !== undefined && q.answer !== "" &&
    !(Array.isArray(q.answer) && !q.answer.length);
}

const pointsText = (points) => `${points} ${points === 1 ? "point" : "points"}`;

/** GET the questions and show the test at the question the student was on. */
export async function loadQuestions() {
  const data = await api("GET", cfg.urls.questions);
  state.questions = data.questions;
  state.phase = "running";
  $("proctoring").hidden = true;
  $("test").hidden = false;
  renderNav();
  show(rememberedQuestion());
  $("question").focus();
  startClock();
}

function renderNav() {
  const nav = $("question-nav");
  nav.replaceChildren(...state.questions.map((q, i) => {
    const li = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "outline nav-item";
    button.addEventListener("click", () => { closeReview(); show(i); });
    li.appendChild(button);
    return li;
  }));
  markAnswered();
}

function markAnswered() {
  const buttons = $("question-nav").querySelectorAll("button");
  state.questions.forEach((q, i) => {
    const answered = isAnswered(q);
    const button = buttons[i];
    button.classList.toggle("answered", answered);
    // In words and by a mark, not by colour alone.
    button.setAttribute("aria-label", `Question ${i + 1}, ${answered ? "answered" : "not answered"}`);
    button.textContent = String(i + 1);
    if (answered) {
      const mark = document.createElement("span");
      mark.className = "nav-mark";
      mark.setAttribute("aria-hidden", "true");
      mark.textContent = " ✓";
      button.appendChild(mark);
    }
    if (i === state.current && !state.reviewing) button.setAttribute("aria-current", "step");
    else button.removeAttribute("aria-current");
  });
}

export function show(index) {
  const questions = state.questions;
  state.current = Math.max(0, Math.min(index, questions.length - 1));
  rememberQuestion(state.current);
  const q = questions[state.current];
  const box = $("question");
  const legend = document.createElement("legend");
  legend.textContent = `Question ${state.current + 1} of ${questions.length} (${pointsText(q.points)})`;
  const prompt = document.createElement("p");
  prompt.className = "prompt";
  prompt.textContent = q.prompt;
  box.replaceChildren(legend, prompt, ...answerInputs(q));
  const closed = state.phase === "closed";
  const focused = document.activeElement;
  $("prev-button").disabled = closed || state.current === 0;
  $("next-button").disabled = closed || state.current === questions.length - 1;
  // A button that became disabled under the keyboard's focus hands it on.
  if (focused === $("next-button") && $("next-button").disabled) $("submit-button").focus();
  if (focused === $("prev-button") && $("prev-button").disabled) $("next-button").focus();
  if (closed) box.querySelectorAll("input").forEach((el) => { el.disabled = true; });
  markAnswered();
}

function answerInputs(q) {
  if (q.kind === "text") {
    const label = document.createElement("label");
    label.textContent = "Your answer";
    const input = document.createElement("input");
    input.type = "text";
    input.name = "q" + q.id;
    input.maxLength = 2000;
    input.value = q.answer || "";
    input.addEventListener("input", () => changed(q, input.value));
    label.appendChild(input);
    return [label];
  }
  return q.options.map((option, i) => {
    const label = document.createElement("label");
    const input = document.createElement("input");
    input.type = q.kind === "single" ? "radio" : "checkbox";
    input.name = "q" + q.id;
    input.value = String(i);
    input.checked = q.kind === "single" ? q.answer === i : (q.answer || []).includes(i);
    input.addEventListener("change", () => changed(q, readChoice(q)));
    label.append(input, " " + option);
    return label;
  });
}

function readChoice(q) {
  const checked = Array.from(document.querySelectorAll(`input[name="q${q.id}"]:checked`),
                             (el) => Number(el.value));
  return q.kind === "single" ? (checked.length ? checked[0] : null) : checked;
}

function changed(q, value) {
  q.answer = value;
  markAnswered();
  $("save-status").textContent = "Saving…";
  clearTimeout(state.saveTimers.get(q.id));
  state.saveTimers.set(q.id, setTimeout(() => save(q), SAVE_DEBOUNCE_MS));
}

async function save(q) {
  state.saveTimers.delete(q.id);
  const url = cfg.urls.answer.replace("__QUESTION__", String(q.id));
  try {
    await api("PUT", url, { value: q.answer });
    if (!state.saveTimers.size) $("save-status").textContent = "All answers saved";
  } catch (error) {
    $("save-status").textContent = "Not saved: " + error.message;
    announce("Your last answer was not saved: " + error.message);
    if (error.status === 409) closedElsewhere(error.message);
  }
}

function flushSaves() {
  const pending = Array.from(state.saveTimers.keys(), (id) => {
    clearTimeout(state.saveTimers.get(id));
    return save(state.questions.find((q) => q.id === id));
  });
  return Promise.all(pending);
}

/** Saves what is pending (before a logout, say). */
export const saveNow = flushSaves;

// ---- the review and the submit ------------------------------------------------------

function reviewLink(q, i) {
  const li = document.createElement("li");
  const link = document.createElement("a");
  link.href = "#question";
  const prompt = q.prompt.length > 80 ? q.prompt.slice(0, 79) + "…" : q.prompt;
  link.textContent = `Question ${i + 1}: ${prompt}`;
  link.addEventListener("click", (event) => {
    event.preventDefault();
    closeReview();
    show(i);
    $("question").focus();
  });
  li.appendChild(link);
  return li;
}

function openReview() {
  flushSaves();
  state.reviewing = true;
  const questions = state.questions;
  const unanswered = questions.filter((q) => !isAnswered(q));
  const answered = questions.length - unanswered.length;
  $("review-summary").textContent = unanswered.length
    ? `${answered} of ${questions.length} questions answered; ${unanswered.length} not answered.`
    : `All ${questions.length} questions answered.`;
  $("review-unanswered").replaceChildren(...questions.flatMap((q, i) => isAnswered(q) ? [] : [reviewLink(q, i)]));
  $("review-answered").replaceChildren(...questions.flatMap((q, i) => isAnswered(q) ? [reviewLink(q, i)] : []));
  $("review-unanswered-box").hidden = !unanswered.length;
  $("review-answered-box").hidden = !answered;
  $("question-form").hidden = true;
  $("test-actions").hidden = true;
  $("review").hidden = false;
  markAnswered();
  $("review-title").focus();
}

function closeReview() {
  if (!state.reviewing) return;
  state.reviewing = false;
  $("review").hidden = true;
  $("question-form").hidden = false;
  $("test-actions").hidden = false;
  markAnswered();
}

function confirmSubmit() {
  const unanswered = state.questions.filter((q) => !isAnswered(q)).length;
  $("submit-confirm-text").textContent = (unanswered
    ? `${unanswered} of ${state.questions.length} questions are not answered. `
    : "All questions are answered. ") + "You cannot change your answers afterwards.";
  const dialog = $("submit-confirm");
  const close = openModal(dialog, { focus: dialog, onCancel: () => close() });
  $("submit-cancel").onclick = () => close();
  $("submit-yes").onclick = () => { close({ restoreFocus: false }); submit(); };
}

async function submit() {
  const button = $("review-submit");
  button.disabled = true;
  state.phase = "submitting";
  try {
    await flushSaves();
    await flushMetrics();
    log("portal", "POST submit");
    const data = await api("POST", cfg.urls.submit);
    state.phase = "closed";
    if (cfg.startMode === "framed") {
      // Inside the vendor's frame: the vendor ends the session and moves the window.
      showSubmitted(data.score, data.max_score);
      return;
    }
    await endProctoring();
    window.location.assign(data.result_url);
  } catch (error) {
    if (state.phase === "submitting") state.phase = "running";
    button.disabled = false;
    $("review-status").textContent = "Not submitted: " + error.message;
    announce("Not submitted: " + error.message);
    if (error.status === 409) closedElsewhere(error.message);
  }
}

export function showSubmitted(score, maxScore) {
  $("proctoring").hidden = true;
  $("test").hidden = true;
  $("submitted-score").textContent = `${score} / ${maxScore}`;
  $("submitted").hidden = false;
  announce(`Answers submitted. Your score: ${score} / ${maxScore}.`);
}

export function wireQuestions() {
  $("question-form").addEventListener("submit", (event) => event.preventDefault());
  $("prev-button").addEventListener("click", () => show(state.current - 1));
  $("next-button").addEventListener("click", () => show(state.current + 1));
  $("submit-button").addEventListener("click", openReview);
  $("review-back").addEventListener("click", () => { closeReview(); show(state.current); $("question").focus(); });
  $("review-submit").addEventListener("click", confirmSubmit);
}

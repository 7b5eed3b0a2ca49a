// The end card: "How did this session go?" with 1 to 5 stars and an optional comment, where the badge
// was, once sharing has ended. Like the badge it lives in a CLOSED shadow root on an rr-block host.
// It never blocks the page (no backdrop, no focus trap, no focus taken) and closes with No thanks,
// Close or Escape. The stars are a native radio group: Tab reaches it, the arrow keys choose.
import { MAX_COMMENT } from "./api.js";

const STYLE = `
:host { all: initial; }
.card { position: fixed; right: 16px; bottom: 16px; z-index: 2147483647; box-sizing: border-box;
  width: min(340px, calc(100vw - 32px)); padding: 14px 16px; border-radius: 10px; background: #1d2733;
  color: #fff; font: 14px/1.4 system-ui, sans-serif; box-shadow: 0 4px 16px rgba(0,0,0,.3); }
.ended { margin: 0 0 6px; color: #c4ccd6; font-size: 12px; }
fieldset { border: 0; margin: 0; padding: 0; }
legend { padding: 0; font-weight: 600; }
.stars { display: flex; gap: 2px; margin: 6px 0 8px; }
.stars label { position: relative; cursor: pointer; font-size: 26px; line-height: 1; color: #8a96a5; }
.stars label.on { color: #f5c518; }
.stars input { position: absolute; opacity: 0; width: 1px; height: 1px; margin: 0; }
.stars input:focus-visible + span { outline: 3px solid #7fb3ff; outline-offset: 1px; border-radius: 4px; }
label.text { display: block; margin-bottom: 4px; font-size: 12px; color: #c4ccd6; }
textarea { box-sizing: border-box; width: 100%; min-height: 56px; resize: vertical; font: inherit;
  color: #1d2733; background: #fff; border: 0; border-radius: 6px; padding: 6px 8px; }
.note { min-height: 1em; margin: 6px 0 0; font-size: 13px; }
.note.error { color: #ffb4ae; }
.buttons { display: flex; gap: 8px; justify-content: flex-end; margin-top: 8px; }
button { font: inherit; font-weight: 600; color: #1d2733; background: #fff; border: 0; border-radius: 6px;
  padding: 6px 10px; cursor: pointer; }
button.quiet { background: #3a4757; color: #fff; }
button:disabled { opacity: .6; cursor: default; }
button:focus-visible, textarea:focus-visible { outline: 3px solid #7fb3ff; outline-offset: 2px; }
@media (pointer: coarse) { button { min-height: 44px; } }
[hidden] { display: none !important; }
`;

const LABELS = ["1 star", "2 stars", "3 stars", "4 stars", "5 stars"];

// onSend(stars, comment) resolves to {ok, text}: the server's word on the answer.
export function createSurveyCard({ doc = document, ended = "", onSend }) {
  const host = doc.createElement("div");
  host.className = "rr-block";
  host.setAttribute("data-tandem", "survey");
  const root = host.attachShadow({ mode: "closed" });
  const stars = LABELS.map(
    (label, i) =>
      `<label title="${label}"><input type="radio" name="stars" value="${i + 1}" aria-label="${label}">` +
      `<span aria-hidden="true">★</span></label>`,
  ).join("");
  root.innerHTML = `<style>${STYLE}</style>
<section class="card" aria-labelledby="tandem-survey-q">
  <p class="ended" role="status"></p>
  <form novalidate>
    <fieldset>
      <legend id="tandem-survey-q">How did this session go?</legend>
      <div class="stars">${stars}</div>
    </fieldset>
    <label class="text" for="tandem-survey-comment">Anything to add? (optional)</label>
    <textarea id="tandem-survey-comment" maxlength="${MAX_COMMENT}" rows="2"></textarea>
    <div class="buttons">
      <button type="button" class="quiet no">No thanks</button>
      <button type="submit" class="send">Send</button>
    </div>
  </form>
  <p class="note" role="status" aria-live="polite"></p>
  <div class="buttons done" hidden><button type="button" class="close">Close</button></div>
</section>`;
  const form = root.querySelector("form");
  const note = root.querySelector(".note");
  const send = root.querySelector(".send");
  const comment = root.querySelector("textarea");
  const labels = [...root.querySelectorAll(".stars label")];
  const chosen = () => {
    const checked = root.querySelector(".stars input:checked");
    return checked ? Number(checked.value) : 0;
  };
  const paint = () => labels.forEach((label, i) => label.classList.toggle("on", i < chosen()));

  function close() {
    host.remove();
  }

  function say(text, error) {
    note.textContent = text;
    note.classList.toggle("error", !!error);
  }

  form.addEventListener("change", paint);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (send.disabled) return;
    if (!chosen()) return say("Choose from 1 to 5 stars.", true);
    send.disabled = true;
    say("Sending…");
    const result = await onSend(chosen(), comment.value.slice(0, MAX_COMMENT));
    send.disabled = false;
    say(result.text, !result.ok);
    if (result.ok) {
      form.hidden = true;
      root.querySelector(".done").hidden = false;
      root.querySelector(".close").focus(); // Send is gone: the focus stays in the card
    }
  });
  root.querySelector(".no").addEventListener("click", close);
  root.querySelector(".close").addEventListener("click", close);
  root.querySelector(".card").addEventListener("keydown", (event) => {
    if (event.key === "Escape") close();
  });

  (doc.body || doc.documentElement).appendChild(host);
  // Filled once in the page, so that screen readers announce it (the badge it replaces said it too).
  setTimeout(() => (root.querySelector(".ended").textContent = ended), 0);
  return { close };
}

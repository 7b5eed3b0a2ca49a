// Copy buttons, declared in markup (the Content-Security-Policy allows no inline script):
//   <input id="x" readonly value="…">
//   <button type="button" data-copy-target="x" data-copied-label="Copied">Copy link</button>
//   <span data-copy-status></span>   (optional: announced to screen readers)
import { copyOutcome, copyValue } from "./copy.js";

const legacyCopy = (input) => {
  input.focus();
  input.select();
  return document.execCommand && document.execCommand("copy");
};

document.addEventListener("click", async (event) => {
  const button = event.target instanceof Element ? event.target.closest("[data-copy-target]") : null;
  if (!button) return;
  const input = document.getElementById(button.dataset.copyTarget);
  if (!(input instanceof HTMLInputElement)) return;
  const copied = await copyValue(input, { clipboard: navigator.clipboard, secure: window.isSecureContext, legacyCopy });
  const { label, status } = copyOutcome(copied, button.dataset.copiedLabel);
  if (label) button.textContent = label;
  else input.select();
  const announce = button.parentElement && button.parentElement.querySelector("[data-copy-status]");
  if (announce) announce.textContent = status;
});

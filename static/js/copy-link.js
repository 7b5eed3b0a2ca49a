// Copy buttons, declared in markup (the Content-Security-Policy allows no inline script):
//   <input id="x" readonly value="…">
//   <button type="button" data-copy-target="x" data-copied-label="Copied">Copy link</button>
//   <span data-copy-status></span>   (optional: announced to screen readers)
(() => {
  "use strict";

  const legacyCopy = (input) => {
    input.focus();
    input.select();
    return document.execCommand && document.execCommand("copy");
  };

  const announce = (button, text) => {
    const status = button.parentElement && button.parentElement.querySelector("[data-copy-status]");
    if (status) status.textContent = text;
  };

  document.addEventListener("click", async (event) => {
    const button = event.target instanceof Element ? event.target.closest("[data-copy-target]") : null;
    if (!button) return;
    const input = document.getElementById(button.dataset.copyTarget);
    if (!(input instanceof HTMLInputElement)) return;
    let copied = false;
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(input.value);
        copied = true;
      } else {
        copied = Boolean(legacyCopy(input));
      }
    } catch (_error) {
      copied = Boolean(legacyCopy(input));
    }
    if (copied) {
      const label = button.dataset.copiedLabel || "Copied";
      button.textContent = label;
      announce(button, "Link copied to the clipboard.");
    } else {
      input.select();
      announce(button, "Press Ctrl+C (or ⌘C) to copy the selected link.");
    }
  });
})();

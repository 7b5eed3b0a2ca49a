// Behaviour shared by every Tandem page, declared in markup instead of inline event handlers (the
// Content-Security-Policy allows no inline script):
//   <form data-confirm="Question?">   asks before submitting;
//   <input data-select-on-focus>      selects its text on focus (links to copy).
(() => {
  "use strict";
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.confirm) return;
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
  document.addEventListener("focusin", (event) => {
    const input = event.target;
    if (input instanceof HTMLInputElement && input.hasAttribute("data-select-on-focus")) input.select();
  });
})();

// Behaviour declared in markup instead of inline event handlers (the Content-Security-Policy allows
// no inline script):
//   <form data-confirm="Question?">   asks before submitting;
//   <input data-select-on-focus>      selects its text on focus (links to copy).
// Handlers for events delegated from the document; `confirm` is passed in so tests need no browser.

export function confirmBeforeSubmit(event, confirm) {
  const form = event.target;
  if (!form || form.tagName !== "FORM" || !form.dataset.confirm) return;
  if (!confirm(form.dataset.confirm)) event.preventDefault();
}

export function selectOnFocus(event) {
  const input = event.target;
  if (input && input.tagName === "INPUT" && input.hasAttribute("data-select-on-focus")) input.select();
}

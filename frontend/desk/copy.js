// Copying a link to the clipboard, and what the page says afterwards. The clipboard API needs a
// secure context (and may be refused); otherwise the old execCommand("copy") on the selected field,
// and if that fails too the link stays selected for the user to copy by hand.

// env: {clipboard, secure, legacyCopy(input) -> truthy when copied}. Resolves to whether it copied.
export async function copyValue(input, { clipboard, secure, legacyCopy }) {
  try {
    if (clipboard && secure) {
      await clipboard.writeText(input.value);
      return true;
    }
    return Boolean(legacyCopy(input));
  } catch {
    return Boolean(legacyCopy(input));
  }
}

// The button's new label (null: unchanged) and what is announced to screen readers.
export function copyOutcome(copied, copiedLabel) {
  if (copied) return { label: copiedLabel || "Copied", status: "Link copied to the clipboard." };
  return { label: null, status: "Press Ctrl+C (or ⌘C) to copy the selected link." };
}

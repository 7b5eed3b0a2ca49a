// What the widget must never send in clear: selector rules (whole fields) and pattern rules (any
// text or value that looks like a card number, SSN, Aadhaar, PAN or IBAN). cobrowse/masking.py
// applies the same rules again on the server.

// Always the same string, so a masked value never reveals its length.
export const MASK = "******";

export const ALWAYS_MASKED = [
  'input[type="password"]',
  '[autocomplete^="cc-"]',
  "[data-sensitive]",
  "[data-pii]",
];

// Replaced by a placeholder in the recording: not even the element's size or attributes travel.
export const BLOCKED = '[autocomplete="one-time-code"]';

// A selector list for "this element or one of its ancestors must be masked".
export function maskedSelector(accountSelectors = []) {
  return [...ALWAYS_MASKED, ...accountSelectors.filter(isValidSelector)].join(",");
}

function isValidSelector(selector) {
  if (typeof selector !== "string" || !selector.trim()) return false;
  try {
    globalThis.document?.createDocumentFragment().querySelector(selector);
    return true;
  } catch {
    return false;
  }
}

export function isMaskedElement(element, selector) {
  return Boolean(element && typeof element.closest === "function" && element.closest(selector));
}

export function luhnValid(digits) {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

export function ibanValid(candidate) {
  const iban = candidate.replace(/ /g, "").toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(iban)) return false;
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let remainder = 0;
  for (const ch of rearranged) {
    const value = ch >= "A" ? String(ch.charCodeAt(0) - 55) : ch;
    for (const digit of value) remainder = (remainder * 10 + Number(digit)) % 97;
  }
  return remainder === 1;
}

// Digit patterns must not start or end inside a longer run of digit groups ("4111 1111 1111" is
// the start of a card number, not an Aadhaar number).
const CARD = /(?<!\d[ -]?)(?:\d[ -]?){12,18}\d(?!\d)/g;
const SSN = /(?<!\d[ -]?)\d{3}-\d{2}-\d{4}(?![ -]?\d)/g;
const AADHAAR = /(?<!\d[ -]?)[2-9]\d{3}([ -]?)\d{4}\1\d{4}(?![ -]?\d)/g;
const PAN = /(?<![A-Za-z0-9])[A-Za-z]{5}\d{4}[A-Za-z](?![A-Za-z0-9])/g;
// Groups of four with optional single spaces; the check digits decide (see maskIbans).
const IBAN = /(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]){11,30}(?![A-Za-z0-9])/g;

// A card number may run on into other digits ("4111 1111 1111 1111 12/26"): mask the longest
// Luhn-valid prefix of 13+ digits.
function maskCards(text) {
  return text.replace(CARD, (match) => {
    for (let end = match.length; end > 0; end--) {
      const candidate = match.slice(0, end);
      const digits = candidate.replace(/\D/g, "");
      if (digits.length < 13) break;
      if (/\d$/.test(candidate) && luhnValid(digits)) return MASK + match.slice(end);
    }
    return match;
  });
}

// The IBAN pattern may swallow a following word ("… 00 is"): try the longest valid prefix.
function maskIbans(text) {
  return text.replace(IBAN, (match) => {
    for (let end = match.length; end >= 15; end--) {
      const candidate = match.slice(0, end);
      if (candidate.endsWith(" ")) continue;
      if (ibanValid(candidate)) return MASK + match.slice(end);
    }
    return match;
  });
}

// Complete identifiers anywhere in a text (page text, attributes, page titles).
export function maskPatterns(text) {
  if (typeof text !== "string" || text.length < 10) return text;
  // IBANs first: their digits could otherwise be taken for a card number and half-masked.
  return maskCards(maskIbans(text)).replace(SSN, MASK).replace(AADHAAR, MASK).replace(PAN, MASK);
}

// While someone types a card number or an IBAN into an ordinary field, every keystroke sends the
// whole value, and the prefixes are not valid numbers yet. So in typed values, anything that could
// still become an identifier is masked too: 6+ digits (single spaces/dashes allowed), an IBAN start
// (2 letters, 2 digits, 4+ more), a PAN start (5 letters then digits).
const DIGIT_RUN = /(?<!\d)\d(?:[ -]?\d){5,}(?!\d)/g;
const IBAN_START = /(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]){4,}/g;
const PAN_START = /(?<![A-Za-z0-9])[A-Za-z]{5}\d{2,}[A-Za-z]?(?![A-Za-z0-9])/g;

export function maskTypedValue(value) {
  if (typeof value !== "string" || !value) return value;
  return maskPatterns(value).replace(IBAN_START, MASK).replace(PAN_START, MASK).replace(DIGIT_RUN, MASK);
}

// rrweb's maskInputFn: masked fields become MASK, the rest is pattern-masked.
export function maskFieldValue(value, element, selector) {
  if (!value) return value;
  if (isMaskedElement(element, selector)) return MASK;
  return isFreeTextField(element) ? maskTypedValue(value) : maskPatterns(value);
}

// Fields a person types characters into one by one (a date or colour picker is not one).
const FREE_TEXT_TYPES = new Set(["", "text", "search", "tel", "number", "email", "url", "hidden"]);

export function isFreeTextField(element) {
  if (!element) return false;
  if (element.tagName === "TEXTAREA") return true;
  if (element.tagName !== "INPUT") return false;
  return FREE_TEXT_TYPES.has((element.getAttribute("type") || "").toLowerCase());
}

// rrweb's maskTextFn (called for every text node: maskTextSelector is "*").
export function maskText(text, element, selector) {
  if (!text || !text.trim()) return text;
  if (isMaskedElement(element, selector)) return MASK;
  return maskPatterns(text);
}

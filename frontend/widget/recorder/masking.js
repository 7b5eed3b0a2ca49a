// What the widget must never send in clear: selector rules (whole fields) and pattern rules (any
// text or value that looks like a card number, SSN, Aadhaar, PAN, IBAN or labelled identifier).
// masking/patterns.py applies the same rules on the server; both are held to the cases in
// tests/masking_cases.json.

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

// What a masked element keeps of its attributes: layout and identity, never text.
export const STRUCTURAL = new Set(
  "class id name type style rr_width rr_height autocomplete maxlength size tabindex role for disabled required readonly hidden dir lang width height".split(" "),
);

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

// Group separators: spaces of every width, zero-width characters, the soft hyphen, dashes, the
// minus sign, dot and slash.
const S = "[ \\t\\n\\r\\u00a0\\u00ad\\u2000-\\u200d\\u2010-\\u2015\\u202f\\u205f\\u2060\\u2212\\u3000\\ufeff./-]";
const re = (source, flags = "g") => new RegExp(source.replace(/S/g, S), flags);
const SEPS = re("S");
const SEP = re("^S$", "");

// Matching runs on a copy with every decimal digit of the BMP folded to ASCII (same length, so
// spans carry over); a digit's value is its distance from the start of its run of ten.
const ND = /\p{Nd}/u;
export function foldDigits(text) {
  return /[^\0-\u065f]/.test(text)
    ? text.replace(/[\u0660-\uffff]/g, (c) => {
        let code = c.charCodeAt(0);
        if (!ND.test(c)) return c;
        let zero = code;
        while (ND.test(String.fromCharCode(zero - 1))) zero--;
        return String((code - zero) % 10);
      })
    : text;
}
const hasDigit = (text) => /[0-9]/.test(foldDigits(text));

export function ibanValid(candidate) {
  const iban = foldDigits(candidate).replace(SEPS, "").toUpperCase();
  if (!/^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$/.test(iban)) return false;
  const rearranged = iban.slice(4) + iban.slice(0, 4);
  let remainder = 0;
  for (const ch of rearranged) {
    const value = ch >= "A" ? String(ch.charCodeAt(0) - 55) : ch;
    for (const digit of value) remainder = (remainder * 10 + Number(digit)) % 97;
  }
  return remainder === 1;
}

// In the sources below, every S stands for the separator class.
const CARD_RUN = re("(?<![0-9])[0-9](?:S{0,3}[0-9]){12,}(?![0-9])");
const SSN = re("(?<![0-9])(?<![0-9]S)([0-9]{3})(S)([0-9]{2})\\2([0-9]{4})(?![0-9])(?!S[0-9])");
const AADHAAR = re("(?<![0-9])(?<![0-9]S)[2-9][0-9]{3}S?[0-9]{4}S?[0-9]{4}(?![0-9])(?!S[0-9])");
const PAN = /(?<![A-Za-z0-9])[A-Za-z]{5}[0-9]{4}[A-Za-z](?![A-Za-z0-9])/g;
const IBAN = re("(?<![A-Za-z0-9])[A-Za-z]{2}[0-9]{2}(?:S?[A-Za-z0-9]){11,30}(?![A-Za-z0-9])");
// A number of five or more digits right after a word that says what it is ("MRN: 00123456").
const LABELLED = re(
  "(?<![A-Za-z0-9])(?:ssn|social security|itin|tin|tax ?id|ein|mrn|medical record|patient id|member id|insurance|policy|subscriber|account|acct|routing|sort code|passport|licen[cs]e|dob|date of birth|birth ?date|born)(?![A-Za-z])(?:[^A-Za-z0-9]{0,4}(?:number|num|no|nr|id|#|code)(?![A-Za-z]))?[^A-Za-z0-9]{0,6}((?:[A-Za-z]{1,3}-?)?[0-9](?:S{0,2}[0-9]){4,30})(?![0-9])",
  "gi",
);

function spansOf(pattern, text, spans, keep = () => true) {
  for (const m of text.matchAll(pattern)) if (keep(m)) spans.push([m.index, m.index + m[0].length]);
}

function cardSpans(text, spans) {
  for (const m of text.matchAll(CARD_RUN)) {
    const groups = [...m[0].matchAll(/[0-9]+/g)].map((g) => [m.index + g.index, g[0]]);
    const whole = groups.map((g) => g[1]).join("");
    if (whole.length >= 13 && whole.length <= 19 && luhnValid(whole)) {
      spans.push([m.index, m.index + m[0].length]);
      continue;
    }
    for (let i = 0; i < groups.length; i++) {
      let window = "";
      for (let j = i; j < groups.length && (window += groups[j][1]).length <= 19; j++) {
        if (window.length >= 13 && luhnValid(window)) spans.push([groups[i][0], groups[j][0] + groups[j][1].length]);
      }
    }
  }
}

// A candidate may run into the next word: try shorter prefixes ending before a separator.
function ibanSpans(text, spans) {
  for (let m; (m = IBAN.exec(text)); ) {
    const c = m[0];
    for (let end = c.length; end >= 15; end--) {
      if ((end === c.length || SEP.test(c[end])) && ibanValid(c.slice(0, end))) {
        spans.push([m.index, m.index + end]);
        IBAN.lastIndex = m.index + end;
        break;
      }
      if (end === 15) IBAN.lastIndex = m.index + 1;
    }
  }
}

const ssnValid = (m) =>
  m[2] === "-" || (!/^(000|666|9)/.test(m[1]) && m[3] !== "00" && m[4] !== "0000");

function merge(spans) {
  spans.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out = [];
  for (const s of spans) {
    const last = out[out.length - 1];
    if (last && s[0] <= last[1]) last[1] = Math.max(last[1], s[1]);
    else out.push(s);
  }
  return out;
}

// Sorted, merged [start, end) spans of every identifier in a text.
export function findSpans(text) {
  if (typeof text !== "string" || text.length < 9) return [];
  const t = foldDigits(text);
  if (!/[0-9]/.test(t)) return [];
  const spans = [];
  ibanSpans(t, spans);
  cardSpans(t, spans);
  spansOf(SSN, t, spans, ssnValid);
  spansOf(AADHAAR, t, spans);
  spansOf(PAN, t, spans);
  for (const m of t.matchAll(LABELLED)) spans.push([m.index + m[0].length - m[1].length, m.index + m[0].length]);
  return merge(spans);
}

function applySpans(text, spans) {
  let out = "";
  let at = 0;
  for (const [start, end] of spans) {
    out += text.slice(at, start) + MASK;
    at = end;
  }
  return spans.length ? out + text.slice(at) : text;
}

// Complete identifiers anywhere in a text (page text, attributes, page titles).
export function maskPatterns(text) {
  return typeof text === "string" ? applySpans(text, findSpans(text)) : text;
}

// While someone types a card number or an IBAN into an ordinary field, every keystroke sends the
// whole value, and the prefixes are not valid numbers yet. So in typed values, anything that could
// still become an identifier is masked too: 6+ digits, an IBAN start, a PAN start.
const TYPED = [
  re("(?<![A-Za-z0-9])[A-Za-z]{2}[0-9]{2}(?:S?[A-Za-z0-9]){4,}"),
  /(?<![A-Za-z0-9])[A-Za-z]{5}[0-9]{2,}[A-Za-z]?(?![A-Za-z0-9])/g,
  re("(?<![0-9])[0-9](?:S?[0-9]){5,}(?![0-9])"),
];

export function maskTypedValue(value) {
  if (typeof value !== "string" || value.length < 6) return value;
  const t = foldDigits(value);
  if (!/[0-9]/.test(t)) return value;
  const spans = findSpans(value);
  for (const pattern of TYPED) spansOf(pattern, t, spans);
  return applySpans(value, merge(spans));
}

// URLs (cobrowse/masking/url.py redact_url): credentials, secret-named query and fragment parameters,
// and patterns in every part, looked at through percent-encoding.
const SECRET_WORDS = /password|passwd|token|secret|cvv|cvc|ssn|aadhaa?r|iban|card|otp|apikey|api_key|signature|session|grant/i;
const SECRET_TOKENS = new Set("pass pwd pan pin sig sid code auth key csc".split(" "));
const decode = (text) => {
  try {
    return decodeURIComponent(text.replace(/\+/g, " "));
  } catch {
    return text;
  }
};
const maskPart = (text) => {
  const plain = decode(text);
  const masked = maskPatterns(plain);
  return masked === plain ? text : encodeURIComponent(masked).replace(/%2F/g, "/").replace(/\*/g, "*");
};
const maskPairs = (text) =>
  text
    .split("&")
    .map((pair) => {
      const at = pair.indexOf("=");
      if (at < 0) return maskPart(pair);
      const name = decode(pair.slice(0, at));
      const secret = SECRET_WORDS.test(name) || name.toLowerCase().split(/[^a-z0-9]+/).some((t) => SECRET_TOKENS.has(t));
      return maskPart(pair.slice(0, at)) + "=" + (secret && at < pair.length - 1 ? MASK : maskPart(pair.slice(at + 1)));
    })
    .join("&");

export function maskUrl(url) {
  if (typeof url !== "string" || !url) return url;
  const [, head, query, hash] = /^([^?#]*)(?:\?([^#]*))?(?:#(.*))?$/s.exec(url);
  const [, scheme = "", host = "", path] = /^([a-z][a-z0-9+.-]*:)?(\/\/[^/]*)?(.*)$/is.exec(head);
  let out = scheme + host.replace(/^\/\/[^@]*@/, `//${MASK}@`) + maskPart(path);
  if (query !== undefined) out += "?" + maskPairs(query);
  if (hash !== undefined) out += "#" + (hash.includes("=") ? maskPairs(hash) : maskPart(hash));
  return out;
}

// Texts a page lays side by side (<span>4111</span> <span>1111</span>…, four inputs of four digits),
// each already masked alone: the part of each inside an identifier of the joined text becomes MASK.
// null when nothing changes.
export function maskFragments(texts) {
  // Every identifier split over nodes has five digits or more (a PAN split in two is let go); one
  // piece with digits needs another piece that may be its label.
  const counts = texts.map((t) => (foldDigits(t).match(/[0-9]/g) || []).length);
  if (texts.length < 2 || counts.reduce((a, b) => a + b, 0) < 5) return null;
  const spans = findSpans(texts.join(""));
  if (!spans.length) return null;
  let offset = 0;
  let changed = false;
  const out = texts.map((text) => {
    const start = offset;
    const end = (offset += text.length);
    const pieces = spans
      .filter(([s, e]) => s < end && e > start)
      .map(([s, e]) => [Math.max(s, start) - start, Math.min(e, end) - start])
      .filter(([s, e]) => /[0-9A-Za-z]/.test(foldDigits(text.slice(s, e))));
    if (!pieces.length) return text;
    changed = true;
    return applySpans(text, pieces);
  });
  return changed ? out : null;
}

// The strings of CSS content: declarations (.a::before{content:"4111"} draws text no node holds),
// alone and read together in order.
export function maskCss(css) {
  if (typeof css !== "string" || !/content/i.test(css)) return css;
  const strings = [];
  for (const decl of css.matchAll(/content\s*:([^;}]*)/gi)) {
    const at = decl.index + decl[0].length - decl[1].length;
    for (const lit of decl[1].matchAll(/"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'/g)) {
      strings.push([at + lit.index + 1, at + lit.index + lit[0].length - 1]);
    }
  }
  if (!strings.length) return css;
  const texts = strings.map(([s, e]) => maskPatterns(css.slice(s, e)));
  const joined = maskFragments(texts) || texts;
  let out = "";
  let at = 0;
  strings.forEach(([s, e], i) => {
    out += css.slice(at, s) + joined[i];
    at = e;
  });
  return out + css.slice(at);
}

// Block layout (as cobrowse/masking/layout.py reads it): a block's inline descendants read as one text;
// table cells and definition terms read with their row.
const INLINE = new Set("a abbr b cite code em font i kbd label mark q s small span strong sub sup time u input wbr tspan textpath".split(" "));
const CELL = new Set(["td", "th", "dt", "dd"]);
const SKIP = new Set(["script", "style", "noscript", "template", "head", "textarea", "select"]);
const tagOf = (el) => (el && el.tagName ? el.tagName.toLowerCase() : "");

// [node, text] fragments of a block; a nested block is a boundary.
function fragments(el, out, top) {
  const tag = tagOf(el);
  if (tag === "br") return out.push([null, " "]);
  if (!top && (SKIP.has(tag) || !(INLINE.has(tag) || CELL.has(tag)))) return out.push([null, "\n|\n"]);
  if (tag === "input" && el.value) out.push([el, el.value]);
  if (CELL.has(tag) && !top) out.push([null, " ; "]);
  for (const child of el.childNodes || []) {
    if (child.nodeType === 3) out.push([child, child.data]);
    else if (child.nodeType === 1) fragments(child, out, false);
  }
  return out;
}

// The block an element's text is read with (null when the page is too big to read it whole).
export function blockOf(el) {
  while (el && (INLINE.has(tagOf(el)) || CELL.has(tagOf(el))) && el.parentElement) el = el.parentElement;
  return el && (el.textContent || "").length <= 4000 ? el : null;
}

let cache = null;
// node -> its masked text, for every node of the block whose part of an identifier it holds.
export function readBlock(block) {
  if (!cache) {
    cache = new Map();
    Promise.resolve().then(() => (cache = null));
  }
  if (!cache.has(block)) {
    const frags = fragments(block, [], true);
    const alone = frags.map((f) => maskPatterns(f[1]));
    const masked = maskFragments(alone);
    const changed = new Map();
    if (masked) frags.forEach(([node], i) => node && masked[i] !== alone[i] && changed.set(node, masked[i]));
    cache.set(block, changed);
  }
  return cache.get(block);
}

// A short box of a value typed into several (a card in four inputs, an SSN in three, a code in six).
export function isSegment(el) {
  if (!el || el.tagName !== "INPUT" || !isFreeTextField(el)) return false;
  const length = Number(el.getAttribute("maxlength"));
  if (!(length > 0 && length <= 6)) return false;
  for (let up = el.parentElement, level = 0; up && level < 3; up = up.parentElement, level++) {
    const boxes = [...up.querySelectorAll("input[maxlength]")].filter((i) => {
      const n = Number(i.getAttribute("maxlength"));
      return n > 0 && n <= 6 && isFreeTextField(i);
    });
    if (boxes.length >= 3) return true;
  }
  return false;
}

// rrweb's maskInputFn: masked fields become MASK, the rest is pattern-masked.
export function maskFieldValue(value, element, selector) {
  if (!value) return value;
  if (isMaskedElement(element, selector) || isSegment(element)) return MASK;
  const masked = isFreeTextField(element) && !isQuantityField(element) ? maskTypedValue(value) : maskPatterns(value);
  const block = masked === value && element && hasDigit(value) && blockOf(element);
  return block && readBlock(block).has(element) ? MASK : masked;
}

// Fields a person types characters into one by one (a date or colour picker is not one).
const FREE_TEXT_TYPES = new Set(["", "text", "search", "tel", "number", "email", "url", "hidden"]);

// A number field holds a quantity (an amount, a rate, a term): its value is a number, set by the
// page or typed, and a 7-digit loan amount is not the start of a card number. Only complete
// identifiers are masked there (a card number typed whole is still caught by its checksum), so the
// masked value never turns a valid number into one the replayed field refuses and shows blank.
export function isQuantityField(element) {
  return !!element && element.tagName === "INPUT" && (element.getAttribute("type") || "").trim().toLowerCase() === "number";
}

export function isFreeTextField(element) {
  if (!element) return false;
  if (element.tagName === "TEXTAREA") return true;
  if (element.tagName !== "INPUT") return false;
  return FREE_TEXT_TYPES.has((element.getAttribute("type") || "").toLowerCase());
}

// rrweb's maskTextFn (called for every text node: maskTextSelector is "*"), with the element that
// holds the text: its block is read whole, so a number split over spans is masked in each of them.
export function maskText(text, element, selector) {
  if (!text || !text.trim()) return text;
  if (isMaskedElement(element, selector)) return MASK;
  // Text in a contenteditable element is typed there: its prefixes count, as in a field.
  const masked = element && element.isContentEditable ? maskTypedValue(text) : maskPatterns(text);
  const block = hasDigit(text) && blockOf(element);
  if (block) {
    for (const node of element.childNodes || []) {
      const own = readBlock(block).get(node);
      if (own !== undefined && node.data === text) return own;
    }
  }
  return masked;
}

// A form's completion, counted like the recorder's page context (page_context.js describeForm): the
// required fields when the page marks any, else every field; a field counts once it holds a value.
const FIELDS = "input, select, textarea";
const NOT_FIELDS = new Set(["hidden", "submit", "button", "reset", "image"]);

export function isField(el) {
  return !!el && el.matches && el.matches(FIELDS) && !NOT_FIELDS.has(el.type);
}

export function fieldId(el) {
  return el.id || el.name || "";
}

export function hasValue(el) {
  if (el.type === "radio") return !!(el.form || el.ownerDocument).querySelector(`input[type=radio][name="${CSS.escape(el.name)}"]:checked`);
  if (el.type === "checkbox") return el.checked;
  return !!(el.value && el.value.trim());
}

export function completionOf(doc) {
  const seen = new Set();
  const fields = [...doc.querySelectorAll(FIELDS)].filter((el) => {
    if (NOT_FIELDS.has(el.type)) return false;
    if (el.type !== "radio" || !el.name) return true;
    if (seen.has(el.name)) return false;
    seen.add(el.name);
    return true;
  });
  const required = fields.filter((el) => el.required);
  const counted = required.length ? required : fields;
  return counted.length ? Math.round((100 * counted.filter(hasValue).length) / counted.length) : 0;
}

// The text of a field's error: aria-invalid with its message, or the browser's own once touched.
export function errorOf(el, touched) {
  const doc = el.ownerDocument;
  if (el.getAttribute("aria-invalid") === "true") {
    const ids = (el.getAttribute("aria-errormessage") || el.getAttribute("aria-describedby") || "").split(/\s+/);
    const text = ids.map((id) => (id && doc.getElementById(id)?.textContent) || "").join(" ").trim();
    return text || "Invalid";
  }
  return touched && el.validity && !el.validity.valid ? el.validationMessage || "Invalid" : "";
}

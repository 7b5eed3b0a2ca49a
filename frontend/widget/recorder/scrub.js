// A last pass over every rrweb event before it leaves the page. It closes the gaps rrweb's own
// masking leaves open (placeholder and button value attributes, comments, attribute mutations,
// the page URL) by running the same rules again; masking is idempotent, so a second pass is safe.
import { MASK, maskFieldValue, maskPatterns, maskText, isMaskedElement } from "./masking.js";

const NODE_ELEMENT = 2;
const NODE_TEXT = 3;
const NODE_COMMENT = 5;
const EVENT_FULL_SNAPSHOT = 2;
const EVENT_INCREMENTAL = 3;
const EVENT_META = 4;
const SOURCE_MUTATION = 0;
const SOURCE_INPUT = 5;
// Serialised CSS and canvas pixels: large, and not where form data lives.
const UNSCANNED_ATTRIBUTES = new Set(["_cssText", "rr_dataURL", "style"]);

export function createScrubber(getNode, selector) {
  function scrubAttributes(attributes, element) {
    for (const [name, value] of Object.entries(attributes)) {
      if (typeof value !== "string" || UNSCANNED_ATTRIBUTES.has(name)) continue;
      if (name === "value") attributes[name] = maskFieldValue(value, element, selector);
      else if (name === "placeholder" && isMaskedElement(element, selector)) attributes[name] = value && MASK;
      else attributes[name] = maskPatterns(value);
    }
  }

  function scrubNode(node, parentElement) {
    if (node.type === NODE_ELEMENT) {
      const element = getNode(node.id);
      scrubAttributes(node.attributes, element);
      for (const child of node.childNodes) scrubNode(child, element);
    } else if (node.type === NODE_TEXT) {
      node.textContent = maskText(node.textContent, parentElement, selector);
    } else if (node.type === NODE_COMMENT) {
      node.textContent = maskPatterns(node.textContent);
    } else if (node.childNodes) {
      for (const child of node.childNodes) scrubNode(child, parentElement);
    }
  }

  function scrubMutation(data) {
    for (const add of data.adds) scrubNode(add.node, getNode(add.parentId));
    for (const text of data.texts) {
      const node = getNode(text.id);
      text.value = text.value && maskText(text.value, node && node.parentElement, selector);
    }
    for (const change of data.attributes) scrubAttributes(change.attributes, getNode(change.id));
  }

  return function scrub(event) {
    if (event.type === EVENT_FULL_SNAPSHOT) scrubNode(event.data.node, null);
    else if (event.type === EVENT_META) event.data.href = maskPatterns(event.data.href);
    else if (event.type === EVENT_INCREMENTAL && event.data.source === SOURCE_MUTATION) scrubMutation(event.data);
    else if (event.type === EVENT_INCREMENTAL && event.data.source === SOURCE_INPUT) {
      event.data.text = maskFieldValue(event.data.text, getNode(event.data.id), selector);
    }
    return event;
  };
}

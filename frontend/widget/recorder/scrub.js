// A last pass over every rrweb event before it leaves the page. It closes the gaps rrweb's own
// masking leaves open (attributes of masked elements, button value attributes, comments, CSS
// content strings, attribute mutations, the page URL) by running the same rules again; masking is
// idempotent, so a second pass is safe. When a mutation completes a number split over several text
// nodes ("4111 1111 1111" and then the last group), the earlier nodes are masked again too.
import {
  MASK,
  STRUCTURAL,
  blockOf,
  isMaskedElement,
  isSegment,
  maskCss,
  maskFieldValue,
  maskPatterns,
  maskText,
  maskUrl,
  readBlock,
} from "./masking.js";

const URL_ATTRIBUTES = new Set(["href", "src", "action", "formaction", "rr_src", "poster", "cite", "data", "background"]);

const NODE_ELEMENT = 2;
const NODE_TEXT = 3;
const NODE_COMMENT = 5;
const EVENT_FULL_SNAPSHOT = 2;
const EVENT_INCREMENTAL = 3;
const EVENT_META = 4;
const SOURCE_MUTATION = 0;
const SOURCE_INPUT = 5;

export function createScrubber(getNode, selector, getId) {
  function scrubAttributes(attributes, element) {
    const masked = isMaskedElement(element, selector) || isSegment(element);
    for (const [name, value] of Object.entries(attributes)) {
      if (typeof value !== "string" || name === "rr_dataURL" || name === "class") continue;
      if (name === "style" || name === "_cssText") attributes[name] = maskCss(value);
      else if (name === "value") attributes[name] = maskFieldValue(value, element, selector);
      else if (masked && !STRUCTURAL.has(name)) attributes[name] = value && MASK;
      else attributes[name] = URL_ATTRIBUTES.has(name) ? maskUrl(value) : maskPatterns(value);
    }
  }

  function scrubNode(node, parentElement) {
    if (node.type === NODE_ELEMENT) {
      const element = getNode(node.id);
      scrubAttributes(node.attributes, element);
      for (const child of node.childNodes) scrubNode(child, element);
    } else if (node.type === NODE_TEXT) {
      node.textContent = node.isStyle ? maskCss(maskPatterns(node.textContent)) : maskText(node.textContent, parentElement, selector);
    } else if (node.type === NODE_COMMENT) {
      node.textContent = maskPatterns(node.textContent);
    } else if (node.childNodes) {
      for (const child of node.childNodes) scrubNode(child, parentElement);
    }
  }

  // Text nodes elsewhere in the block of a changed node that now hold part of an identifier.
  function remask(data, ids) {
    if (!getId) return;
    const seen = new Set(data.texts.map((t) => t.id));
    const added = (node) => seen.add(node.id) && (node.childNodes || []).forEach(added);
    data.adds.forEach((add) => added(add.node));
    for (const id of ids) {
      const node = getNode(id);
      const block = node && blockOf(node.nodeType === 1 ? node : node.parentElement);
      if (!block) continue;
      for (const [other, value] of readBlock(block)) {
        const otherId = other.nodeType === 3 ? getId(other) : -1;
        if (otherId > 0 && !seen.has(otherId)) {
          seen.add(otherId);
          data.texts.push({ id: otherId, value });
        }
      }
    }
  }

  function scrubMutation(data) {
    const changed = [];
    for (const add of data.adds) {
      scrubNode(add.node, getNode(add.parentId));
      if (/[0-9]/.test(getNode(add.node.id)?.textContent || "")) changed.push(add.node.id);
    }
    for (const text of data.texts) {
      const node = getNode(text.id);
      const parent = node && node.parentElement;
      text.value = text.value && (parent && parent.tagName === "STYLE" ? maskCss(maskPatterns(text.value)) : maskText(text.value, parent, selector));
      if (/[0-9]/.test(node?.data || "")) changed.push(text.id);
    }
    for (const change of data.attributes) scrubAttributes(change.attributes, getNode(change.id));
    remask(data, changed);
  }

  return function scrub(event) {
    if (event.type === EVENT_FULL_SNAPSHOT) scrubNode(event.data.node, null);
    else if (event.type === EVENT_META) event.data.href = maskUrl(event.data.href);
    else if (event.type === EVENT_INCREMENTAL && event.data.source === SOURCE_MUTATION) scrubMutation(event.data);
    else if (event.type === EVENT_INCREMENTAL && event.data.source === SOURCE_INPUT) {
      event.data.text = maskFieldValue(event.data.text, getNode(event.data.id), selector);
    }
    return event;
  };
}

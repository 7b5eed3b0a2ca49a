import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import {
  MASK,
  ibanValid,
  isSegment,
  luhnValid,
  maskCss,
  maskFieldValue,
  maskFragments,
  maskPatterns,
  maskText,
  maskTypedValue,
  maskUrl,
  maskedSelector,
} from "../widget/recorder/masking.js";
import { createScrubber } from "../widget/recorder/scrub.js";

// Just enough of an element for the masking rules: tag, type, and whether a masked selector matches.
function fakeElement({ tagName = "INPUT", type = "text", masked = false } = {}) {
  return {
    tagName,
    getAttribute: (name) => (name === "type" ? type : null),
    closest: () => (masked ? {} : null),
  };
}

describe("checksums", () => {
  it("Luhn accepts real test card numbers and rejects a changed digit", () => {
    assert.ok(luhnValid("4111111111111111"));
    assert.ok(luhnValid("378282246310005"));
    assert.ok(!luhnValid("4111111111111112"));
  });
  it("IBAN mod-97", () => {
    assert.ok(ibanValid("DE89 3704 0044 0532 0130 00"));
    assert.ok(ibanValid("gb82west12345698765432"));
    assert.ok(!ibanValid("DE89 3704 0044 0532 0130 01"));
    assert.ok(!ibanValid("DE89 3704"));
  });
});

// The cases both sides are held to (the server's tests read the same file).
const CASES = JSON.parse(readFileSync(new URL("../../tests/masking_cases.json", import.meta.url), "utf8"));

describe("shared table: texts", () => {
  for (const [name, value, expected, typed] of CASES.text) {
    it(name, () => {
      assert.equal(maskPatterns(value), expected);
      assert.equal(maskTypedValue(value), typed === null ? expected : typed);
    });
  }
  for (const [name, value, expected] of CASES.typed) it(`typed: ${name}`, () => assert.equal(maskTypedValue(value), expected));
  for (const [name, css, expected] of CASES.css) it(`css: ${name}`, () => assert.equal(maskCss(css), expected));
  for (const [name, url, gone, kept] of CASES.urls) {
    it(`url: ${name}`, () => {
      const out = maskUrl(url);
      for (const secret of gone) assert.ok(!out.includes(secret), `${secret} in ${out}`);
      for (const part of kept) assert.ok(out.includes(part), `${part} not in ${out}`);
    });
  }
  for (const [name, texts, expected] of CASES.fragments) {
    it(`fragments: ${name}`, () => assert.deepEqual(maskFragments(texts), expected));
  }
});

// A small DOM: enough of Node/Element for the masking rules and the scrubber.
function matchesSimple(el, selector) {
  const m = /^([a-z]*)(?:\[([\w-]+)(?:([\^*$]?=)"?([^"\]]*)"?)?\])?$/.exec(selector.trim());
  if (!m) return false;
  const [, tag, attr, op, value] = m;
  if (tag && el.tagName.toLowerCase() !== tag) return false;
  if (!attr) return Boolean(tag);
  const actual = el.getAttribute(attr);
  if (actual === null) return false;
  if (!op) return true;
  if (op === "=") return actual === value;
  if (op === "^=") return actual.startsWith(value);
  return op === "*=" ? actual.includes(value) : actual.endsWith(value);
}

function buildDom(item, parent, nodes) {
  let node;
  if (typeof item === "string") {
    node = { nodeType: 3, data: item, get textContent() { return this.data; }, parentElement: parent };
  } else {
    const [tag, attrs, ...children] = item;
    node = {
      nodeType: 1,
      tagName: tag.toUpperCase(),
      attrs: { ...attrs },
      parentElement: parent,
      childNodes: [],
      getAttribute: (name) => (name in node.attrs ? node.attrs[name] : null),
      get value() { return node.attrs.value || ""; },
      get textContent() { return node.childNodes.map((c) => c.textContent).join(""); },
      get isContentEditable() {
        for (let el = node; el; el = el.parentElement) {
          const value = el.getAttribute("contenteditable");
          if (value !== null) return value !== "false";
        }
        return false;
      },
      closest(selector) {
        for (let el = node; el; el = el.parentElement) if (selector.split(",").some((s) => matchesSimple(el, s))) return el;
        return null;
      },
      querySelectorAll(selector) {
        const found = [];
        const visit = (el) => el.childNodes.forEach((c) => c.nodeType === 1 && (matchesSimple(c, selector) && found.push(c), visit(c)));
        visit(node);
        return found;
      },
    };
    node.childNodes = children.map((child) => buildDom(child, node, nodes));
  }
  nodes.push(node);
  return node;
}

function serialize(node, ids) {
  const id = ids.get(node);
  if (node.nodeType === 3) {
    const out = { type: 3, textContent: node.data, id };
    if (node.parentElement && node.parentElement.tagName === "STYLE") out.isStyle = true;
    return out;
  }
  return { type: 2, tagName: node.tagName.toLowerCase(), attributes: { ...node.attrs }, id, childNodes: node.childNodes.map((c) => serialize(c, ids)) };
}

function page(tree) {
  const nodes = [];
  const root = buildDom(tree, null, nodes);
  const ids = new Map(nodes.map((n, i) => [n, i + 10]));
  const byId = new Map([...ids].map(([n, id]) => [id, n]));
  const scrub = createScrubber((id) => byId.get(id), maskedSelector([]), (n) => ids.get(n) ?? -1);
  return { root, ids, byId, scrub };
}

function collect(node, texts, values) {
  if (node.type === 3) texts.push(node.textContent);
  if (node.tagName === "input" && "value" in node.attributes) values.push(node.attributes.value);
  for (const child of node.childNodes || []) collect(child, texts, values);
}

describe("shared table: pages", () => {
  for (const c of CASES.dom) {
    it(c.name, () => {
      const { root, ids, scrub } = page(c.tree);
      const event = scrub({ type: 2, data: { node: serialize(root, ids) } });
      const texts = [];
      const values = [];
      collect(event.data.node, texts, values);
      if (c.texts) assert.deepEqual(texts, c.texts);
      if (c.values) assert.deepEqual(values, c.values);
      for (const [name, expected] of Object.entries(c.attrs || {})) assert.equal(event.data.node.attributes[name], expected, name);
    });
  }
});

describe("a number completed by a later mutation", () => {
  // An Amex number, 3782 822463 10005, whose last group arrives after the first two were sent.
  it("masks the groups sent before, too", async () => {
    const { root, ids, byId, scrub } = page(["p", {}, ["span", {}, "3782"], " ", ["span", {}, "822463"], " "]);
    const first = scrub({ type: 2, data: { node: serialize(root, ids) } });
    const sent = [];
    collect(first.data.node, sent, []);
    assert.deepEqual(sent, ["3782", " ", "822463", " "]);
    await Promise.resolve();
    const span = buildDom(["span", {}, "10005"], root, []);
    root.childNodes.push(span);
    ids.set(span, 100);
    ids.set(span.childNodes[0], 101);
    byId.set(100, span);
    byId.set(101, span.childNodes[0]);
    const mutation = scrub({
      type: 3,
      data: { source: 0, adds: [{ parentId: ids.get(root), node: serialize(span, ids) }], texts: [], attributes: [], removes: [] },
    });
    assert.equal(mutation.data.adds[0].node.childNodes[0].textContent, MASK);
    const earlier = root.childNodes.filter((n) => n.nodeType === 1 && n !== span).map((n) => ids.get(n.childNodes[0]));
    assert.deepEqual(
      mutation.data.texts.map((t) => t.id).sort(),
      earlier.sort(),
    );
    assert.ok(mutation.data.texts.every((t) => t.value === MASK));
  });
});

describe("segmented inputs", () => {
  it("masks what is typed into one of several short boxes", () => {
    const { root } = page(["div", {}, ...[1, 2, 3, 4].map(() => ["input", { maxlength: "4" }])]);
    assert.equal(maskFieldValue("41", root.childNodes[1], maskedSelector([])), MASK);
    assert.ok(isSegment(root.childNodes[0]));
  });
  it("leaves a lone short input alone", () => {
    const { root } = page(["div", {}, ["input", { maxlength: "4" }], ["input", {}]]);
    assert.ok(!isSegment(root.childNodes[0]));
    assert.equal(maskFieldValue("41", root.childNodes[0], maskedSelector([])), "41");
  });
});

describe("maskFieldValue and maskText", () => {
  it("masks a masked field to six asterisks whatever the length", () => {
    const password = fakeElement({ type: "password", masked: true });
    assert.equal(maskFieldValue("x", password, "sel"), MASK);
    assert.equal(maskFieldValue("a much longer secret value", password, "sel"), MASK);
    assert.equal(maskFieldValue("", password, "sel"), "");
  });
  it("applies the typing rules to free-text fields only", () => {
    assert.equal(maskFieldValue("4111 11", fakeElement(), "sel"), MASK);
    assert.equal(maskFieldValue("2024-01-15", fakeElement({ type: "date" }), "sel"), "2024-01-15");
    assert.equal(maskFieldValue("Ada", fakeElement(), "sel"), "Ada");
  });
  it("keeps a page's amount in a number field and masks only complete identifiers there", () => {
    const amount = fakeElement({ type: "number" });
    assert.equal(maskFieldValue("5000000", amount, "sel"), "5000000");
    assert.equal(maskFieldValue("4111111111111111", amount, "sel"), MASK);
    assert.equal(maskFieldValue("5000000", fakeElement({ type: "text" }), "sel"), MASK);
  });
  it("masks text inside masked elements and patterns elsewhere", () => {
    assert.equal(maskText("Ada", fakeElement({ tagName: "SPAN", masked: true }), "sel"), MASK);
    assert.equal(maskText("Card 4111 1111 1111 1111", fakeElement({ tagName: "SPAN" }), "sel"), `Card ${MASK}`);
    assert.equal(maskText("  \n ", fakeElement({ tagName: "SPAN", masked: true }), "sel"), "  \n ");
  });
});

describe("maskedSelector", () => {
  it("always includes the built-in rules and adds the account's own", () => {
    const selector = maskedSelector([".account-secret", ""]);
    for (const part of ['input[type="password"]', '[autocomplete^="cc-"]', "[data-sensitive]", "[data-pii]", ".account-secret"]) {
      assert.ok(selector.split(",").includes(part), part);
    }
    assert.ok(!selector.endsWith(","));
  });
});

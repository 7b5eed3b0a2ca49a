import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BLOCKED, createUrlGuard } from "../replay/tandem_urls.js";

const TANDEM = "https://desk.example.com";
const PAGE = "https://shop.example/cart/checkout";

const meta = { type: 4, data: { href: PAGE, width: 800, height: 600 }, timestamp: 1 };
const el = (id, tagName, attributes = {}, childNodes = []) => ({ type: 2, id, tagName, attributes, childNodes });
const text = (id, textContent, isStyle = false) => ({ type: 3, id, textContent, ...(isStyle ? { isStyle } : {}) });
const snapshot = (...children) => ({
  type: 2,
  timestamp: 2,
  data: { node: { type: 0, id: 1, childNodes: [el(2, "html", {}, children)] }, initialOffset: { top: 0, left: 0 } },
});

describe("Tandem URLs in replayed content", () => {
  it("blocks Tandem URLs in attributes and resolves relative ones against the customer's page", () => {
    const guard = createUrlGuard(TANDEM);
    guard.event(meta);
    const e = guard.event(
      snapshot(
        el(3, "img", { src: "https://desk.example.com/agent/tickets/" }),
        el(4, "img", { src: "//desk.example.com:443/x.png" }),
        el(5, "img", { src: "/images/logo.png", srcset: "a.png 1x, https://desk.example.com/b.png 2x" }),
        el(6, "link", { rel: "stylesheet", href: "https://cdn.example/site.css" }),
        el(7, "video", { poster: "HTTPS://DESK.EXAMPLE.COM/p.jpg" }),
        el(8, "a", { href: "#top" }),
        el(9, "img", { src: "data:image/png;base64,AAAA" }),
      ),
    );
    const [img, img2, rel, link, video, anchor, inline] = e.data.node.childNodes[0].childNodes;
    assert.equal(img.attributes.src, BLOCKED);
    assert.equal(img2.attributes.src, BLOCKED);
    assert.equal(rel.attributes.src, "https://shop.example/images/logo.png");
    assert.equal(rel.attributes.srcset, `https://shop.example/cart/a.png 1x, ${BLOCKED} 2x`);
    assert.equal(link.attributes.href, "https://cdn.example/site.css");
    assert.equal(video.attributes.poster, BLOCKED);
    assert.equal(anchor.attributes.href, "#top");
    assert.equal(inline.attributes.src, "data:image/png;base64,AAAA");
  });

  it("rewrites CSS: style attributes, <style> text, inserted rules and declared properties", () => {
    const guard = createUrlGuard(TANDEM);
    guard.event(meta);
    const e = guard.event(
      snapshot(
        el(3, "div", { style: "background: url('https://desk.example.com/a.png') no-repeat" }),
        el(4, "style", { _cssText: "@import \"/theme.css\"; .x{background:url(/bg.png)}" }),
        el(5, "style", {}, [text(6, ".y{background-image:url(//desk.example.com/y.png)}", true)]),
      ),
    );
    const [div, style, style2] = e.data.node.childNodes[0].childNodes;
    assert.equal(div.attributes.style, `background: url('${BLOCKED}') no-repeat`);
    assert.equal(
      style.attributes._cssText,
      '@import "https://shop.example/theme.css"; .x{background:url(https://shop.example/bg.png)}',
    );
    assert.equal(style2.childNodes[0].textContent, `.y{background-image:url(${BLOCKED})}`);

    const rule = guard.event({ type: 3, timestamp: 3, data: { source: 8, id: 4, adds: [{ rule: ".z{background:url(https://desk.example.com/z)}", index: 0 }] } });
    assert.equal(rule.data.adds[0].rule, `.z{background:url(${BLOCKED})}`);
    const decl = guard.event({ type: 3, timestamp: 4, data: { source: 13, id: 4, index: [0], set: { property: "background", value: "url(/q.png)" } } });
    assert.equal(decl.data.set.value, "url(https://shop.example/q.png)");
    const styleText = guard.event({ type: 3, timestamp: 5, data: { source: 0, adds: [], removes: [], attributes: [], texts: [{ id: 6, value: "b{background:url(https://desk.example.com/t)}" }] } });
    assert.equal(styleText.data.texts[0].value, `b{background:url(${BLOCKED})}`);
  });

  it("guards mutations: added nodes, attribute changes, style diffs and meta refresh", () => {
    const guard = createUrlGuard(TANDEM);
    guard.event(meta);
    guard.event(snapshot(el(3, "meta", { "http-equiv": "refresh", content: "5" })));
    const e = guard.event({
      type: 3,
      timestamp: 6,
      data: {
        source: 0,
        texts: [{ id: 99, value: "See https://desk.example.com/agent/ for help" }],
        removes: [],
        adds: [{ parentId: 2, nextId: null, node: el(10, "img", { src: "/agent/sessions/1/" }) }],
        attributes: [
          { id: 3, attributes: { content: "0;url=/agent/" } },
          { id: 10, attributes: { src: "https://desk.example.com/", style: { background: "url(https://desk.example.com/s)", color: false } } },
        ],
      },
    });
    assert.equal(e.data.adds[0].node.attributes.src, "https://shop.example/agent/sessions/1/");
    assert.equal(e.data.attributes[0].attributes.content, "");
    assert.equal(e.data.attributes[1].attributes.src, BLOCKED);
    assert.deepEqual(e.data.attributes[1].attributes.style, { background: `url(${BLOCKED})`, color: false });
    assert.equal(e.data.texts[0].value, "See https://desk.example.com/agent/ for help"); // text is never fetched
  });

  it("blocks relative URLs while the customer's page URL is unknown", () => {
    const guard = createUrlGuard(TANDEM);
    const e = guard.event(snapshot(el(3, "img", { src: "/agent/" }), el(4, "img", { src: "https://shop.example/a.png" })));
    const [rel, abs] = e.data.node.childNodes[0].childNodes;
    assert.equal(rel.attributes.src, BLOCKED);
    assert.equal(abs.attributes.src, "https://shop.example/a.png");
  });

  it("matches Tandem's port exactly: a customer site on the same host and another port is kept", () => {
    const guard = createUrlGuard("http://localhost:8000", "http://localhost:8001/");
    assert.equal(guard.url("http://localhost:8000/agent/"), BLOCKED);
    assert.equal(guard.url("http://localhost:8001/a.png"), "http://localhost:8001/a.png");
    assert.equal(guard.css("url(http://localhost:8001/a.png)"), "url(http://localhost:8001/a.png)");
    const e = guard.event({ type: 3, timestamp: 1, data: { source: 9, id: 5, commands: [{ property: "drawImage", args: [{ rr_type: "HTMLImageElement", src: "http://localhost:8000/x" }] }] } });
    assert.equal(e.data.commands[0].args[0].src, BLOCKED);
  });

  it("leaves Tandem's own custom events alone", () => {
    const guard = createUrlGuard(TANDEM, PAGE);
    const custom = { type: 5, timestamp: 1, data: { tag: "annotate", payload: { text: "https://desk.example.com/x" } } };
    assert.equal(guard.event(custom).data.payload.text, "https://desk.example.com/x");
  });
});

describe("scripts in replayed content", () => {
  const mutation = (data) => ({ type: 3, timestamp: 3, data: { source: 0, texts: [], removes: [], adds: [], attributes: [], ...data } });

  it("drops event handlers and srcdoc, blocks javascript: URLs, empties scripts in a snapshot", () => {
    const guard = createUrlGuard(TANDEM);
    guard.event(meta);
    const e = guard.event(
      snapshot(
        el(3, "img", { src: "https://cdn.example/a.png", onerror: "steal()", ONLOAD: "x()", alt: "A" }),
        el(4, "a", { href: " java\tscript:alert(1)" }),
        el(5, "iframe", { srcdoc: "<script>x()</script>" }),
        el(6, "script", { src: "https://cdn.example/app.js", type: "module" }, [text(7, "run()")]),
        el(8, "form", { action: "vbscript:msgbox" }),
      ),
    );
    const [img, anchor, frame, script, form] = e.data.node.childNodes[0].childNodes;
    assert.deepEqual(img.attributes, { src: "https://cdn.example/a.png", alt: "A" });
    assert.equal(anchor.attributes.href, BLOCKED);
    assert.deepEqual(frame.attributes, {});
    assert.deepEqual(script.attributes, {});
    assert.equal(script.childNodes[0].textContent, "");
    assert.equal(form.attributes.action, BLOCKED);
  });

  it("strips the same from mutations: added nodes, attribute changes, a script's later changes", () => {
    const guard = createUrlGuard(TANDEM);
    guard.event(meta);
    guard.event(snapshot(el(3, "script", { src: "https://cdn.example/a.js" })));
    const e = guard.event(
      mutation({
        adds: [
          { parentId: 2, nextId: null, node: el(9, "div", { onclick: "x()", class: "c" }) },
          { parentId: 3, nextId: null, node: text(10, "alert(1)") },
        ],
        attributes: [
          { id: 9, attributes: { onmouseover: "x()", title: "t" } },
          { id: 3, attributes: { src: "https://cdn.example/b.js" } },
        ],
      }),
    );
    assert.deepEqual(e.data.adds[0].node.attributes, { class: "c" });
    assert.equal(e.data.adds[1].node.textContent, "");
    assert.deepEqual(e.data.attributes, [{ id: 9, attributes: { title: "t" } }]);
  });
});

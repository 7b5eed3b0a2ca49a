// Replayed customer content never makes the agent's browser request Tandem's own URLs.
//
// The live console, the watch page and the replay page rebuild the customer's page with rrweb inside
// an about:blank iframe on Tandem's origin. A customer page (or whoever controls its content) could
// hold <img src="https://tandem.example/agent/..."> or CSS url() pointing at Tandem; rebuilt, the
// agent's browser would fetch them with the agent's cookies. Relative URLs are worse: inside the
// iframe they resolve against the Tandem page, not the customer's.
//
// Every rrweb event passes through a guard before the Replayer sees it. URL-valued attributes
// (src, href, srcset, poster, ...) and CSS (style attributes, <style> text, inserted rules, declared
// properties) are rewritten: a URL that resolves to Tandem's origin becomes BLOCKED (which loads
// nothing); a relative URL becomes absolute against the recorded page's own URL (the Meta event's
// href), or BLOCKED when that is unknown. Other strings in an event lose any absolute Tandem URL.
//
// Nothing from the customer's page is meant to run in the replay, and the sandboxed iframe would
// refuse it anyway, logging "Blocked script execution" for every attempt. So scripts are stripped
// here rather than refused there: event-handler attributes (onerror, onfocus, ...) are dropped,
// javascript: and vbscript: URLs and srcdoc documents become BLOCKED, and <script> elements keep
// their place (later mutations may name them) but lose their source, type and text.

// What a blocked URL becomes: an empty data: URL loads nothing from anywhere, and the strict pages'
// policy allows data: for images, fonts, media and styles, so it is not even a violation report.
// (about:invalid would be reported; an empty URL would resolve to the Tandem page itself.)
export const BLOCKED = "data:,";

// rrweb event and node types (@rrweb/types).
const FULL_SNAPSHOT = 2;
const INCREMENTAL = 3;
const META = 4;
const CUSTOM = 5;
const MUTATION = 0;
const STYLE_SHEET_RULE = 8;
const STYLE_DECLARATION = 13;
const ELEMENT = 2;
const TEXT = 3;

const URL_ATTRIBUTES = new Set([
  "src", "href", "xlink:href", "poster", "background", "data", "action", "formaction", "cite",
  "longdesc", "lowsrc", "dynsrc", "manifest", "icon", "ping", "codebase", "archive", "itemtype",
]);
const SRCSET_ATTRIBUTES = new Set(["srcset", "imagesrcset"]);
const CSS_ATTRIBUTES = new Set(["style", "_csstext"]); // lower case: names are compared so
// Schemes that never reach a server (or never run in the sandboxed replay iframe).
const LOCAL_SCHEME = /^\s*(data|blob|about|javascript|mailto|tel|sms):/i;
// URLs that would run script (browsers ignore tabs and newlines inside a scheme).
// Control characters are the point: browsers strip leading C0 controls before reading the scheme.
// eslint-disable-next-line no-control-regex
const SCRIPT_SCHEME = /^[\s\u0000-\u001f]*(j[\t\n\r]*a[\t\n\r]*v[\t\n\r]*a[\t\n\r]*s[\t\n\r]*c[\t\n\r]*r[\t\n\r]*i[\t\n\r]*p[\t\n\r]*t|vbscript)[\t\n\r]*:/i;

// Attributes that run script, or hold a document that may: never replayed.
export function isScriptAttribute(name) {
  const key = String(name).toLowerCase();
  return key.startsWith("on") || key === "srcdoc";
}

function escapeRegExp(text) {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

export function createUrlGuard(tandemOrigin, pageUrl = null) {
  const origin = new URL(tandemOrigin);
  const defaultPort = origin.protocol === "https:" ? "443" : "80";
  const hostPattern = `${escapeRegExp(origin.hostname)}(?::${origin.port || defaultPort})?${origin.port ? "" : "(?![:\\d])"}`;
  // An absolute (or scheme-relative) Tandem URL anywhere in a string, up to a delimiter.
  const absolute = new RegExp(`(?:[a-z][a-z0-9+.-]*:)?//${hostPattern}(?=[/?#\\s"'),\\\\]|$)[^\\s"'),]*`, "gi");
  let base = pageUrl;
  const styleTexts = new Set(); // ids of text nodes inside <style>
  const refreshMetas = new Set(); // ids of <meta http-equiv=refresh>
  const scripts = new Set(); // ids of <script> elements: their later changes are dropped

  function url(value) {
    if (typeof value !== "string") return value;
    if (SCRIPT_SCHEME.test(value)) return BLOCKED;
    const text = value.trim();
    if (!text || text.startsWith("#") || LOCAL_SCHEME.test(text)) return value;
    let resolved;
    try {
      resolved = base ? new URL(text, base) : new URL(text);
    } catch {
      // Relative without a known page, or unparseable (which no browser fetches either).
      return base || !/^[a-z][a-z0-9+.-]*:/i.test(text) ? BLOCKED : value;
    }
    if (resolved.origin === origin.origin) return BLOCKED;
    if (!/^https?:$/.test(resolved.protocol) && !/^wss?:$/.test(resolved.protocol)) return value;
    return resolved.href;
  }

  function srcset(value) {
    if (typeof value !== "string") return value;
    const out = [];
    let rest = value;
    // Candidates: a URL (which may itself hold commas, as data: URLs do) then descriptors up to a comma.
    while (rest.trim()) {
      rest = rest.replace(/^[\s,]+/, "");
      const match = /^(\S+)(\s*[^,]*)(?:,|$)/.exec(rest);
      if (!match) break;
      let candidate = match[1];
      let descriptor = match[2];
      if (candidate.endsWith(",")) {
        candidate = candidate.slice(0, -1);
        descriptor = "";
      }
      out.push(`${url(candidate)}${descriptor}`);
      rest = rest.slice(match[0].length);
    }
    return out.join(", ");
  }

  function css(value) {
    if (typeof value !== "string") return value;
    const replaced = value
      .replace(/url\(\s*(['"]?)(.*?)\1\s*\)/gis, (_, quote, inner) => `url(${quote}${url(inner)}${quote})`)
      .replace(/@import\s+(['"])(.*?)\1/gi, (_, quote, inner) => `@import ${quote}${url(inner)}${quote}`);
    return loose(replaced);
  }

  function loose(value) {
    if (typeof value !== "string") return value;
    absolute.lastIndex = 0;
    return absolute.test(value) ? value.replace(absolute, BLOCKED) : value;
  }

  function attribute(name, value, id) {
    const key = String(name).toLowerCase();
    if (value && typeof value === "object") {
      // A style diff: {property: value | [value, priority] | false}.
      for (const [prop, v] of Object.entries(value)) {
        if (typeof v === "string") value[prop] = css(v);
        else if (Array.isArray(v) && typeof v[0] === "string") v[0] = css(v[0]);
      }
      return value;
    }
    if (typeof value !== "string") return value;
    if (SRCSET_ATTRIBUTES.has(key)) return srcset(value);
    if (URL_ATTRIBUTES.has(key)) return url(value);
    if (CSS_ATTRIBUTES.has(key)) return css(value);
    if (key === "content" && refreshMetas.has(id)) return "";
    return loose(value);
  }

  function node(n) {
    if (!n || typeof n !== "object") return;
    if (n.type === ELEMENT) {
      const attrs = n.attributes || {};
      const tag = String(n.tagName || "").toLowerCase();
      if (tag === "meta" && String(attrs["http-equiv"] || "").toLowerCase() === "refresh") refreshMetas.add(n.id);
      if (tag === "script") {
        scripts.add(n.id);
        n.attributes = {};
        for (const child of n.childNodes || []) if (child && child.type === TEXT) child.textContent = "";
        return;
      }
      for (const name of Object.keys(attrs)) {
        if (isScriptAttribute(name)) delete attrs[name];
        else attrs[name] = attribute(name, attrs[name], n.id);
      }
    } else if (n.type === TEXT) {
      if (n.isStyle) {
        styleTexts.add(n.id);
        n.textContent = css(n.textContent);
      }
    }
    if (Array.isArray(n.childNodes)) n.childNodes.forEach(node);
  }

  // Any other event shape (canvas commands, fonts, adopted sheets): URL-named keys as URLs, CSS rules
  // as CSS, every other string without absolute Tandem URLs.
  function deep(value, key = "") {
    if (typeof value === "string") {
      if (URL_ATTRIBUTES.has(key) || key === "fontSource") return url(value);
      if (key === "rule" || key === "cssText") return css(value);
      return loose(value);
    }
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) value[i] = deep(value[i], key);
    } else if (value && typeof value === "object") {
      for (const k of Object.keys(value)) value[k] = deep(value[k], k);
    }
    return value;
  }

  function mutation(data) {
    for (const add of data.adds || []) {
      if (scripts.has(add.parentId) && add.node && add.node.type === TEXT) add.node.textContent = "";
      node(add.node);
    }
    if (Array.isArray(data.attributes)) {
      data.attributes = data.attributes.filter((change) => !scripts.has(change.id));
      for (const change of data.attributes) {
        const attrs = change.attributes || {};
        for (const name of Object.keys(attrs)) {
          if (isScriptAttribute(name)) delete attrs[name];
          else attrs[name] = attribute(name, attrs[name], change.id);
        }
      }
    }
    for (const text of data.texts || []) {
      if (styleTexts.has(text.id)) text.value = css(text.value);
    }
  }

  function event(e) {
    if (!e || typeof e !== "object" || !e.data) return e;
    if (e.type === META) {
      if (typeof e.data.href === "string" && /^https?:/i.test(e.data.href)) base = e.data.href;
      return e;
    }
    if (e.type === CUSTOM) return e; // Tandem's own marks (annotations, actions): text, never loaded
    if (e.type === FULL_SNAPSHOT) {
      styleTexts.clear();
      refreshMetas.clear();
      scripts.clear();
      node(e.data.node);
      return e;
    }
    if (e.type === INCREMENTAL) {
      if (e.data.source === MUTATION) mutation(e.data);
      else if (e.data.source === STYLE_DECLARATION && e.data.set) {
        e.data.set.value = css(e.data.set.value);
      } else if (e.data.source === STYLE_SHEET_RULE) {
        for (const add of e.data.adds || []) add.rule = css(add.rule);
      } else deep(e.data);
      return e;
    }
    deep(e.data);
    return e;
  }

  return { event, url, css, srcset };
}

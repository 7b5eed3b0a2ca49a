// The demo site's React page (/react): a small contact form built the way a customer's React app
// would use Tandem: the provider, the live indicator and a Get help button on the session hook.
// The page gives the options (Tandem.init's, plus the loader's URL) as JSON in #tandem-options.
/* global document */
import { createElement as h, useState } from "react";
import { createRoot } from "react-dom/client";
import { TandemIndicator, TandemProvider, useTandemSession } from "../../frontend/react/index.js";

function HelpButton() {
  const { state, error, start, stop } = useTandemSession();
  if (state === "sharing") return h("button", { type: "button", className: "button", id: "stop-sharing", onClick: stop }, "Stop sharing");
  return h(
    "div",
    null,
    h("button", { type: "button", className: "button", id: "get-help", onClick: start, disabled: state === "asking" || state === "error" }, "Get help"),
    error ? h("p", { className: "error", id: "help-error" }, error) : null,
  );
}

function Field({ id, label, type = "text", autoComplete }) {
  const [value, setValue] = useState("");
  return h(
    "div",
    { className: "field wide" },
    h("label", { htmlFor: id }, label),
    h("input", { id, name: id.replace(/-/g, "_"), type, autoComplete, value, onChange: (e) => setValue(e.target.value) }),
  );
}

function App({ options }) {
  return h(
    TandemProvider,
    { options },
    h(
      "section",
      { className: "card" },
      h("h1", null, "Ask about your application"),
      h("p", { className: "muted" }, "Tell us what you need; our team can look at this page with you."),
      h("p", { id: "tandem-indicator" }, h(TandemIndicator)),
      h(
        "form",
        { "aria-label": "Question about your application", onSubmit: (e) => e.preventDefault(), noValidate: true },
        h("div", { className: "form-grid" },
          h(Field, { id: "contact-name", label: "Full name", autoComplete: "name" }),
          h(Field, { id: "application-ref", label: "Application reference" }),
        ),
        h(HelpButton),
      ),
    ),
  );
}

const root = document.getElementById("react-root");
const options = JSON.parse(document.getElementById("tandem-options").textContent);
createRoot(root).render(h(App, { options }));

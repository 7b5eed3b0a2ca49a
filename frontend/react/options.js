// The provider's options: Tandem.init's own (checked with the widget's checkOptions, so the wrapper
// and the loader never disagree) plus where the loader script is, which Tandem.init must not see.
import { checkOptions } from "../widget/init_options.js";

const URL_LIKE = /^(https?:\/\/|\/)/;

// {init, src, error}: init for Tandem.init, src the loader's URL ("" when not given), error "" or
// the one problem, worded as the loader words it.
export function prepareOptions(options, loaderSrc) {
  if (!options || typeof options !== "object" || Array.isArray(options)) {
    return { init: null, src: "", error: "Tandem.init: options must be an object; nothing was started" };
  }
  const { loaderSrc: fromOptions, ...init } = options;
  const src = loaderSrc || fromOptions || "";
  if (typeof src !== "string" || (src && !URL_LIKE.test(src))) {
    return { init: null, src: "", error: "Tandem: loaderSrc must be an http(s) URL or a path; nothing was started" };
  }
  const problem = checkOptions(init);
  return { init: problem ? null : init, src, error: problem ? `Tandem.init: ${problem}; nothing was started` : "" };
}

const CALLBACKS = { onConsent: "consent", onEnd: "end", onHelpRequested: "help-requested" };

// The options with each callback also telling the wrapper (notify({type})) before the site's own.
export function withCallbacks(init, notify) {
  const wrapped = { ...init };
  for (const [name, type] of Object.entries(CALLBACKS)) {
    const own = init[name];
    wrapped[name] = (...args) => {
      notify({ type });
      if (own) own(...args);
    };
  }
  return wrapped;
}

// Loads tandem-guide.js (overlay, prompts, agent actions) the first time the session needs it and
// hands it every guidance message in arrival order. Kept out of tandem-recorder.js: most sessions
// stay view-only and the recorder has a strict size budget.

export function createGuideLoader({ src, context, onError = () => {} }) {
  let loading = null;
  let destroyed = false;

  function load() {
    if (!loading) {
      loading = new Promise((resolve, reject) => {
        const script = document.createElement("script");
        script.src = src;
        script.async = true;
        script.onload = () => {
          script.remove();
          if (window.TandemGuide) resolve(window.TandemGuide.create(context()));
          else reject(new Error("tandem-guide.js did not start"));
        };
        script.onerror = () => {
          script.remove();
          loading = null; // try again with the next message
          reject(new Error("tandem-guide.js could not be loaded"));
        };
        document.head.appendChild(script);
      });
    }
    return loading;
  }

  return {
    get started() {
      return loading !== null;
    },
    deliver(type, data) {
      // One promise for all messages: .then callbacks run in the order they were added.
      load().then((guide) => !destroyed && guide.handle(type, data), onError);
    },
    destroy() {
      destroyed = true;
      if (loading) loading.then((guide) => guide.destroy(), () => {});
    },
  };
}

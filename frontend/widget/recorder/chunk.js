// Loads one of the widget's own chunks (tandem-guide.js, tandem-survey.js) with a script element and
// resolves to the global it defines. The chunks stay out of tandem-recorder.js, which has a strict
// size budget; no referrer, so the customer's page address is not sent along.

export function loadChunk(src, name) {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = src;
    script.async = true;
    script.referrerPolicy = "no-referrer";
    script.onload = () => {
      script.remove();
      if (window[name]) resolve(window[name]);
      else reject(new Error(`${src.split("/").pop()} did not start`));
    };
    script.onerror = () => {
      script.remove();
      reject(new Error(`${src.split("/").pop()} could not be loaded`));
    };
    document.head.appendChild(script);
  });
}

// Scale to fit: the replayed page keeps its recorded size and is scaled (never above 1) to the width
// of the stage and to the height left in the window below the stage's top once the controls are
// counted, so the controls stay on screen. Re-fits when the stage or the window changes size.

export function fitScale(width, height, availWidth, availHeight) {
  if (!(width > 0 && height > 0)) return 1;
  return Math.max(0.05, Math.min(1, availWidth / width, availHeight / height));
}

const MIN_HEIGHT = 160;

// ``apply(scale)`` sizes the content; ``size()`` gives the recorded {width, height} (or null).
export function keepFitted({ stage, controls, size, apply }) {
  function fit() {
    const dims = size();
    if (!dims) return;
    const top = stage.getBoundingClientRect().top + window.scrollY;
    const below = controls ? controls.getBoundingClientRect().height + 24 : 24;
    const availHeight = Math.max(MIN_HEIGHT, window.innerHeight - top - below);
    apply(fitScale(dims.width, dims.height, stage.clientWidth, availHeight), dims);
  }
  if (typeof ResizeObserver === "function") new ResizeObserver(() => fit()).observe(stage);
  window.addEventListener("resize", fit);
  return fit;
}

// The dashboard's charts (templates/analytics/_charts.html): reads the series from the page's JSON
// data block and draws each on its canvas. Only the Chart.js parts these four charts use are
// registered, so the rest is left out of the bundle. Chart.js sizes canvases through the CSSOM
// (element.style), which the CSP's style-src 'self' allows; no style attribute or <style> is written.
import {
  ArcElement,
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  DoughnutController,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from "chart.js";
import { configs } from "./chart_configs.js";

Chart.register(
  ArcElement,
  BarController,
  BarElement,
  CategoryScale,
  DoughnutController,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
);

function draw() {
  const source = document.getElementById("dashboard-charts");
  if (!source) return;
  let series;
  try {
    series = JSON.parse(source.textContent);
  } catch {
    return; // no data, no charts: the tables still hold every figure
  }
  const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  const styles = getComputedStyle(document.body);
  Chart.defaults.font.family = styles.fontFamily;
  Chart.defaults.color = styles.getPropertyValue("--text-2").trim() || "#4a5268";
  for (const [name, config] of Object.entries(configs(series, { reducedMotion }))) {
    const canvas = document.querySelector(`canvas[data-chart="${name}"]`);
    if (!canvas) continue;
    new Chart(canvas, config);
    canvas.dataset.drawn = "1";
  }
}

draw();

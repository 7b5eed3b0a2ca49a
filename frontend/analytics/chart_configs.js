// The dashboard's four Chart.js configurations, built from the series the server sends
// (analytics/charts.py). DOM-free, so node --test checks them; charts.js draws them.

// One colour per final mode, always the same, each 3:1 or more against the white card (WCAG 1.4.11).
export const MODE_COLOURS = {
  view_only: "#0f766e",
  guided: "#4f46e5",
  controlled: "#b45309",
  full: "#be123c",
};
const FALLBACK = "#475569";
const BAR = "#4f46e5";
const LINE = "#0f766e";

function base(animate) {
  return {
    responsive: true,
    maintainAspectRatio: false,
    animation: animate ? undefined : false,
    plugins: { legend: { display: false } },
  };
}

function countAxis() {
  return { beginAtZero: true, ticks: { precision: 0 } };
}

export function daysConfig(days, animate) {
  return {
    type: "bar",
    data: { labels: days.labels, datasets: [{ label: "Sessions", data: days.sessions, backgroundColor: BAR }] },
    options: { ...base(animate), scales: { x: { ticks: { autoSkip: true, maxRotation: 0 } }, y: countAxis() } },
  };
}

export function modesConfig(modes, animate) {
  const options = base(animate);
  options.plugins = { legend: { display: true, position: "bottom" } };
  return {
    type: "doughnut",
    data: {
      labels: modes.labels,
      datasets: [
        {
          label: "Sessions",
          data: modes.sessions,
          backgroundColor: modes.keys.map((key) => MODE_COLOURS[key] || FALLBACK),
          borderColor: "#ffffff",
        },
      ],
    },
    options,
  };
}

export function durationsConfig(durations, animate) {
  return {
    type: "bar",
    data: {
      labels: durations.labels,
      datasets: [{ label: "Sessions", data: durations.sessions, backgroundColor: BAR }],
    },
    options: { ...base(animate), scales: { y: countAxis() } },
  };
}

// Mean stars on a fixed 1–5 scale; a day or week without answers stays a gap (null), never a zero.
export function csatConfig(csat, animate) {
  const options = base(animate);
  options.scales = { x: { ticks: { autoSkip: true, maxRotation: 0 } }, y: { min: 1, max: 5, ticks: { stepSize: 1 } } };
  options.plugins = {
    legend: { display: false },
    tooltip: {
      callbacks: {
        footer: (items) => (items.length ? answersText(csat.answers[items[0].dataIndex]) : ""),
      },
    },
  };
  return {
    type: "line",
    data: {
      labels: csat.labels,
      datasets: [
        {
          label: "Mean stars",
          data: csat.mean,
          borderColor: LINE,
          backgroundColor: LINE,
          spanGaps: false,
          pointRadius: 3,
        },
      ],
    },
    options,
  };
}

export function answersText(n) {
  return n === 1 ? "1 answer" : `${n} answers`;
}

export const BUILDERS = { days: daysConfig, modes: modesConfig, durations: durationsConfig, csat: csatConfig };

// The configuration for each canvas name the page has data for.
export function configs(series, { reducedMotion }) {
  const animate = !reducedMotion;
  const out = {};
  for (const [name, build] of Object.entries(BUILDERS)) {
    if (series && series[name]) out[name] = build(series[name], animate);
  }
  return out;
}

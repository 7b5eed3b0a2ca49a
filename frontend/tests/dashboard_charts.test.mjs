import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MODE_COLOURS, answersText, configs } from "../analytics/chart_configs.js";

const SERIES = {
  days: { labels: ["1 Mar", "2 Mar"], sessions: [3, 0] },
  modes: { keys: ["view_only", "guided", "unknown"], labels: ["View only", "Guidance", "?"], sessions: [1, 2, 0] },
  durations: { labels: ["< 5 min", "> 20 min"], sessions: [2, 1] },
  csat: { unit: "day", labels: ["1 Mar", "2 Mar"], mean: [4.5, null], answers: [2, 0] },
};

describe("the dashboard's chart configurations", () => {
  it("draws the four series with their own numbers, gaps kept as gaps", () => {
    const out = configs(SERIES, { reducedMotion: false });
    assert.deepEqual(Object.keys(out).sort(), ["csat", "days", "durations", "modes"]);
    assert.deepEqual(out.days.data.datasets[0].data, [3, 0]);
    assert.equal(out.modes.type, "doughnut");
    assert.deepEqual(out.csat.data.datasets[0].data, [4.5, null]);
    assert.equal(out.csat.data.datasets[0].spanGaps, false);
    assert.deepEqual([out.csat.options.scales.y.min, out.csat.options.scales.y.max], [1, 5]);
  });

  it("gives each mode its own colour and an unknown one a neutral colour", () => {
    const colours = configs(SERIES, { reducedMotion: false }).modes.data.datasets[0].backgroundColor;
    assert.equal(colours[0], MODE_COLOURS.view_only);
    assert.equal(colours[1], MODE_COLOURS.guided);
    assert.ok(!Object.values(MODE_COLOURS).includes(colours[2]));
  });

  it("turns animation off when the person asks for reduced motion", () => {
    for (const config of Object.values(configs(SERIES, { reducedMotion: true }))) {
      assert.equal(config.options.animation, false);
    }
    for (const config of Object.values(configs(SERIES, { reducedMotion: false }))) {
      assert.notEqual(config.options.animation, false);
    }
  });

  it("leaves out a series the page has no data for", () => {
    assert.deepEqual(Object.keys(configs({ days: SERIES.days }, { reducedMotion: false })), ["days"]);
    assert.deepEqual(configs(null, { reducedMotion: false }), {});
  });

  it("counts the answers behind a point in its tooltip", () => {
    const footer = configs(SERIES, { reducedMotion: false }).csat.options.plugins.tooltip.callbacks.footer;
    assert.equal(footer([{ dataIndex: 0 }]), "2 answers");
    assert.equal(answersText(1), "1 answer");
    assert.equal(footer([]), "");
  });
});

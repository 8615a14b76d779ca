// The dashboard is declared in the form the Monitoring API stores, so a refreshed preview (the
// daily drift run) finds nothing to change: the declared JSON is a fixed point of the normalisation
// the API applies (infra/alerting/dashboard-canonical.ts).
import assert from "node:assert/strict";
import fc from "fast-check";
import { canonicalJson, storedDashboard } from "../../infra/alerting/dashboard-canonical.ts";
import type { JsonObject } from "../../infra/alerting/dashboard-canonical.ts";
import { dashboardJson } from "../../infra/alerting/dashboard.ts";

const DLQ = ["nba-phase2-raw-complete-dlq-sub", "nba-phase3-analytics-complete-dlq-sub"];

describe("dashboard canonical form", () => {
  it("the declared dashboard is what the API stores: normalising it changes nothing, byte for byte", () => {
    const declared = dashboardJson("[dev] Phase orchestration", DLQ);
    assert.equal(canonicalJson(storedDashboard(JSON.parse(declared) as JsonObject)), declared);
  });

  it("the stored form as the API returns it (with name and etag) compares equal to the declaration", () => {
    const declared = JSON.parse(dashboardJson("[prod] Phase orchestration", DLQ)) as JsonObject;
    const returned = { ...storedDashboard(declared), name: "projects/123/dashboards/abc", etag: "e1" };
    assert.deepEqual(storedDashboard(returned), declared);
  });

  it("no tile declares a zero position, every chart and data set declares the API's defaults", () => {
    const d = JSON.parse(dashboardJson("x", DLQ)) as { mosaicLayout: { tiles: Record<string, unknown>[] } };
    for (const tile of d.mosaicLayout.tiles) {
      assert.notEqual(tile.xPos, 0);
      assert.notEqual(tile.yPos, 0);
      const chart = (tile.widget as { xyChart: Record<string, unknown> }).xyChart;
      assert.deepEqual(chart.chartOptions, { mode: "COLOR" });
      assert.deepEqual(chart.thresholds, []);
      for (const ds of chart.dataSets as Record<string, unknown>[]) {
        for (const k of ["breakdowns", "dimensions", "measures"]) assert.deepEqual(ds[k], [], k);
        assert.equal(ds.targetAxis, "Y1");
        assert.equal(typeof ds.minAlignmentPeriod, "string");
      }
    }
    assert.ok(d.mosaicLayout.tiles.some((t) => !("xPos" in t) && !("yPos" in t)), "the first tile sits at 0,0 by omission");
  });

  it("the normalisation models the API: zero positions dropped, defaults added, server fields removed; and it is idempotent", () => {
    const given: JsonObject = {
      displayName: "d",
      mosaicLayout: {
        columns: 48,
        tiles: [
          {
            xPos: 0,
            yPos: 0,
            width: 24,
            height: 16,
            widget: {
              title: "t",
              xyChart: {
                dataSets: [{ plotType: "LINE", timeSeriesQuery: { timeSeriesFilter: { filter: "f", aggregation: { alignmentPeriod: "60s", perSeriesAligner: "ALIGN_DELTA" } } } }],
              },
            },
          },
        ],
      },
    };
    const stored = storedDashboard({ ...given, name: "projects/1/dashboards/2", etag: "abc" });
    assert.deepEqual(stored, {
      displayName: "d",
      mosaicLayout: {
        columns: 48,
        tiles: [
          {
            width: 24,
            height: 16,
            widget: {
              title: "t",
              xyChart: {
                chartOptions: { mode: "COLOR" },
                thresholds: [],
                dataSets: [
                  {
                    breakdowns: [],
                    dimensions: [],
                    measures: [],
                    minAlignmentPeriod: "60s",
                    targetAxis: "Y1",
                    plotType: "LINE",
                    timeSeriesQuery: { timeSeriesFilter: { filter: "f", aggregation: { alignmentPeriod: "60s", perSeriesAligner: "ALIGN_DELTA", groupByFields: [] } } },
                  },
                ],
              },
            },
          },
        ],
      },
    });
    // A declaration with a zero position or a missing default is not stored as declared (a perpetual diff).
    assert.notEqual(canonicalJson(stored), canonicalJson(given));
    assert.deepEqual(storedDashboard(stored), stored);
  });

  it("canonical JSON sorts keys at every depth and keeps array order", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        const text = canonicalJson(v as JsonObject);
        assert.deepEqual(JSON.parse(text), JSON.parse(JSON.stringify(v)));
        assert.equal(canonicalJson(JSON.parse(text) as JsonObject), text);
      }),
    );
    assert.equal(canonicalJson({ b: 1, a: [{ d: 1, c: 2 }] }), '{"a":[{"c":2,"d":1}],"b":1}');
  });
});

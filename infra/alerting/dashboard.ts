// The operations dashboard: dual-write successes and fallbacks (and the fallback ratio), triggers by
// transition, dead letters waiting, quarantined messages, scheduled job runs. Pure: returns the
// dashboard JSON, written in the form the Monitoring API stores (dashboard-canonical.ts: every
// default the API would add is declared, no zero tile position, keys sorted), so a refresh finds
// nothing to change.
import { canonicalJson } from "./dashboard-canonical.ts";
import type { JsonObject } from "./dashboard-canonical.ts";
import { LOG_METRICS, userMetricType } from "./log-metrics.ts";

const ALIGNMENT_PERIOD = "300s";

interface Series {
  filter: string;
  perSeriesAligner: string;
  crossSeriesReducer: string;
  groupByFields: string[];
}

const userMetric = (name: string): string => `metric.type="${userMetricType(name)}" AND resource.type="cloud_run_revision"`;
const sumBy = (filter: string, groupByFields: string[]): Series => ({
  filter,
  perSeriesAligner: "ALIGN_DELTA",
  crossSeriesReducer: "REDUCE_SUM",
  groupByFields,
});

/** One data set with the fields the API fills in when they are left out. */
function dataSet(plotType: string, timeSeriesQuery: JsonObject): JsonObject {
  return { breakdowns: [], dimensions: [], measures: [], minAlignmentPeriod: ALIGNMENT_PERIOD, plotType, targetAxis: "Y1", timeSeriesQuery };
}

function xyChart(title: string, dataSets: JsonObject[]): JsonObject {
  return { title, xyChart: { chartOptions: { mode: "COLOR" }, dataSets, thresholds: [] } };
}

function chart(title: string, series: Series, plotType = "LINE"): JsonObject {
  return xyChart(title, [
    dataSet(plotType, {
      timeSeriesFilter: {
        filter: series.filter,
        aggregation: {
          alignmentPeriod: ALIGNMENT_PERIOD,
          perSeriesAligner: series.perSeriesAligner,
          crossSeriesReducer: series.crossSeriesReducer,
          groupByFields: series.groupByFields,
        },
      },
    }),
  ]);
}

const deltaSum = { alignmentPeriod: ALIGNMENT_PERIOD, perSeriesAligner: "ALIGN_DELTA", crossSeriesReducer: "REDUCE_SUM", groupByFields: [] };

/** Dashboard JSON for the given dead-letter subscription names. */
export function dashboardJson(displayName: string, deadLetterSubscriptions: readonly string[]): string {
  const ratio = xyChart("Dual-write fallback ratio (fallbacks / successes)", [
    dataSet("LINE", {
      timeSeriesFilterRatio: {
        numerator: { filter: userMetric(LOG_METRICS.dualWriteFailures.name), aggregation: deltaSum },
        denominator: { filter: userMetric(LOG_METRICS.dualWriteSuccesses.name), aggregation: deltaSum },
      },
    }),
  ]);
  const dlqFilter = [
    'metric.type="pubsub.googleapis.com/subscription/num_undelivered_messages"',
    'resource.type="pubsub_subscription"',
    `resource.labels.subscription_id=one_of(${deadLetterSubscriptions.map((s) => `"${s}"`).join(",")})`,
  ].join(" AND ");
  const widgets = [
    chart("Dual-write successes", sumBy(userMetric(LOG_METRICS.dualWriteSuccesses.name), ["metric.label.service"])),
    chart("Dual-write fallbacks by failed store", sumBy(userMetric(LOG_METRICS.dualWriteFailures.name), ["metric.label.store"])),
    ratio,
    chart("Triggers published by transition", sumBy(userMetric(LOG_METRICS.triggersPublished.name), ["metric.label.transition"]), "STACKED_BAR"),
    chart("Dead letters waiting", {
      filter: dlqFilter,
      perSeriesAligner: "ALIGN_MAX",
      crossSeriesReducer: "REDUCE_SUM",
      groupByFields: ["resource.label.subscription_id"],
    }),
    chart("Messages quarantined by reason", sumBy(userMetric(LOG_METRICS.messagesQuarantined.name), ["metric.label.reason"]), "STACKED_BAR"),
    chart("Sweeper runs completed", sumBy(userMetric(LOG_METRICS.sweepCompletions.name), ["metric.label.service"]), "STACKED_BAR"),
    chart("Reconciler runs completed", sumBy(userMetric(LOG_METRICS.reconcileCompletions.name), ["metric.label.service"]), "STACKED_BAR"),
  ];
  const tiles = widgets.map((widget, i) => {
    const x = (i % 2) * 24;
    const y = Math.floor(i / 2) * 16;
    // The API leaves out a zero position; declaring it would differ from what is stored.
    return { ...(x !== 0 ? { xPos: x } : {}), ...(y !== 0 ? { yPos: y } : {}), width: 24, height: 16, widget };
  });
  return canonicalJson({ displayName, mosaicLayout: { columns: 48, tiles } });
}

// The operations dashboard: dual-write successes and fallbacks (and the fallback ratio), triggers by
// transition, dead letters waiting, quarantined messages. Pure: returns the dashboard JSON.
import { LOG_METRICS, userMetricType } from "./log-metrics.ts";

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

function chart(title: string, series: Series, plotType = "LINE"): object {
  return {
    title,
    xyChart: {
      dataSets: [
        {
          plotType,
          timeSeriesQuery: {
            timeSeriesFilter: {
              filter: series.filter,
              aggregation: {
                alignmentPeriod: "300s",
                perSeriesAligner: series.perSeriesAligner,
                crossSeriesReducer: series.crossSeriesReducer,
                groupByFields: series.groupByFields,
              },
            },
          },
        },
      ],
    },
  };
}

/** Dashboard JSON for the given dead-letter subscription names. */
export function dashboardJson(displayName: string, deadLetterSubscriptions: readonly string[]): string {
  const ratio = {
    title: "Dual-write fallback ratio (fallbacks / successes)",
    xyChart: {
      dataSets: [
        {
          plotType: "LINE",
          timeSeriesQuery: {
            timeSeriesFilterRatio: {
              numerator: {
                filter: userMetric(LOG_METRICS.dualWriteFailures.name),
                aggregation: { alignmentPeriod: "300s", perSeriesAligner: "ALIGN_DELTA", crossSeriesReducer: "REDUCE_SUM" },
              },
              denominator: {
                filter: userMetric(LOG_METRICS.dualWriteSuccesses.name),
                aggregation: { alignmentPeriod: "300s", perSeriesAligner: "ALIGN_DELTA", crossSeriesReducer: "REDUCE_SUM" },
              },
            },
          },
        },
      ],
    },
  };
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
  ];
  const tiles = widgets.map((widget, i) => ({ xPos: (i % 2) * 24, yPos: Math.floor(i / 2) * 16, width: 24, height: 16, widget }));
  return JSON.stringify({ displayName, mosaicLayout: { columns: 48, tiles } });
}

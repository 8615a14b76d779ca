// Reading the metric filters of alert policy conditions: which metric and resource types they name,
// and whether they read a log-based (user) metric. Pure over property values.
import { at, elementsOf, stringAt } from "./props.ts";
import type { Unknown } from "./props.ts";

/** Condition kinds whose `filter` is a Monitoring filter (metric.type, resource.type, labels). */
export const FILTER_CONDITION_KINDS = ["conditionThreshold", "conditionAbsent"] as const;

export interface ConditionFilter {
  kind: (typeof FILTER_CONDITION_KINDS)[number];
  /** "filter", or "denominatorFilter" (a ratio threshold). */
  field: "filter" | "denominatorFilter";
  text: string | Unknown;
}

/** The Monitoring filters of one condition (none for PromQL, MQL, log-match or SQL conditions). */
export function monitoringFilters(condition: unknown): ConditionFilter[] {
  const found: ConditionFilter[] = [];
  for (const kind of FILTER_CONDITION_KINDS) {
    for (const field of ["filter", "denominatorFilter"] as const) {
      const text = stringAt(condition, kind, field);
      if (text !== undefined) found.push({ kind, field, text });
    }
  }
  return found;
}

const SELECTOR_OPERATOR = String.raw`\s*(=|!=|=~|!=~|:)`;

/** Whether a Monitoring filter selects on `metric.type`. */
export const namesMetricType = (filter: string): boolean => new RegExp(String.raw`\bmetric\.type${SELECTOR_OPERATOR}`).test(filter);

/** Whether a Monitoring filter selects on `resource.type`. */
export const namesResourceType = (filter: string): boolean => new RegExp(String.raw`\bresource\.type${SELECTOR_OPERATOR}`).test(filter);

/** The Monitoring metric type prefix of log-based metrics. */
export const USER_METRIC_TYPE_PREFIX = "logging.googleapis.com/user/";
/** The same metrics' PromQL name prefix (Cloud Monitoring's mapping of logging.googleapis.com/user/<name>). */
export const USER_METRIC_PROMQL_PREFIX = "logging_googleapis_com:user_";

/** Whether a filter or MQL query reads a log-based metric. */
export const readsUserMetric = (text: string): boolean => text.includes(USER_METRIC_TYPE_PREFIX);

/** Whether a PromQL query reads a log-based metric (by name, or by the UTF-8 quoted metric type). */
export const promQlReadsUserMetric = (query: string): boolean => query.includes(USER_METRIC_PROMQL_PREFIX) || query.includes(USER_METRIC_TYPE_PREFIX);

/** The conditions of an alert policy, with their index (elements may be UNKNOWN during a preview). */
export function indexedConditions(props: unknown): { index: number; condition: unknown }[] {
  return elementsOf(at(props, "conditions")).map((condition, index) => ({ index, condition }));
}

/** A condition's display name for messages. */
export function conditionLabel(condition: unknown, index: number): string {
  const name = stringAt(condition, "displayName");
  return typeof name === "string" ? `condition ${index} ("${name}")` : `condition ${index}`;
}

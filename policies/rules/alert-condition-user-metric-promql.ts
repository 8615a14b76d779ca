// A log-based metric created in the same deployment is not queryable for minutes: an alert policy
// whose threshold/absent/MQL condition reads it fails the first `pulumi up` with 404 "Cannot find
// metric(s)". PromQL conditions can skip that check (disableMetricValidation), so conditions on
// log-based (user) metrics must be PromQL with it set.
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { forTypes } from "../lib/define.ts";
import { conditionLabel, indexedConditions, monitoringFilters, promQlReadsUserMetric, readsUserMetric } from "../lib/monitoring-conditions.ts";
import { at, stringAt, UNKNOWN } from "../lib/props.ts";
import { T } from "../lib/types.ts";

const isTrue = (v: unknown): boolean => v === true || v === "true";

export const alertConditionUserMetricPromql: ResourceValidationPolicy = {
  name: "alert-condition-user-metric-promql",
  description:
    "Every alert condition on a log-based metric (logging.googleapis.com/user/...) is a PromQL condition with disableMetricValidation: true, so the policy can be created in the deployment that creates the metric.",
  remediationSteps:
    "Express the condition as conditionPrometheusQueryLanguage on logging_googleapis_com:user_<metric> with disableMetricValidation: true (infra/alerting/conditions.ts has helpers), instead of a conditionThreshold/conditionAbsent filter or MQL query on logging.googleapis.com/user/<metric>.",
  enforcementLevel: "mandatory",
  validateResource: forTypes([T.alertPolicy], (props, args, report) => {
    for (const { index, condition } of indexedConditions(props)) {
      const label = `${conditionLabel(condition, index)} of ${args.name}`;
      for (const f of monitoringFilters(condition)) {
        if (f.text !== UNKNOWN && readsUserMetric(f.text)) {
          report(`${label}: ${f.kind} on a log-based metric fails with 404 "Cannot find metric(s)" until the new metric has data; use PromQL with disableMetricValidation`);
        }
      }
      const mql = stringAt(condition, "conditionMonitoringQueryLanguage", "query");
      if (typeof mql === "string" && readsUserMetric(mql)) {
        report(`${label}: an MQL condition on a log-based metric fails with 404 "Cannot find metric(s)" until the new metric has data; use PromQL with disableMetricValidation`);
      }
      const promql = stringAt(condition, "conditionPrometheusQueryLanguage", "query");
      if (typeof promql === "string" && promQlReadsUserMetric(promql)) {
        const validation = at(condition, "conditionPrometheusQueryLanguage", "disableMetricValidation");
        if (validation !== UNKNOWN && !isTrue(validation)) {
          report(`${label}: a PromQL condition on a log-based metric without disableMetricValidation: true fails until the new metric has data`);
        }
      }
    }
  }),
};

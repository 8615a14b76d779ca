// A threshold or metric-absence condition whose filter names a metric.type but no resource.type is
// rejected by the Monitoring API when the policy is created (the filter must pin the monitored
// resource type), so the deployment fails at `pulumi up`, after a green preview.
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { forTypes } from "../lib/define.ts";
import { conditionLabel, indexedConditions, monitoringFilters, namesMetricType, namesResourceType } from "../lib/monitoring-conditions.ts";
import { UNKNOWN } from "../lib/props.ts";
import { T } from "../lib/types.ts";

export const alertConditionResourceType: ResourceValidationPolicy = {
  name: "alert-condition-resource-type",
  description: "Every threshold or metric-absence condition whose filter names a metric.type also names a resource.type (the Monitoring API rejects the policy otherwise).",
  remediationSteps:
    'Add resource.type="<monitored resource>" to the condition\'s filter (and denominatorFilter), e.g. resource.type="cloud_run_revision" for Cloud Run and uptime checks on a Cloud Run service, resource.type="pubsub_subscription" for Pub/Sub (infra/alerting/conditions.ts).',
  enforcementLevel: "mandatory",
  validateResource: forTypes([T.alertPolicy], (props, args, report) => {
    for (const { index, condition } of indexedConditions(props)) {
      for (const f of monitoringFilters(condition)) {
        // Computed during a preview (an uptime check id): checked once known.
        if (f.text === UNKNOWN) continue;
        if (namesMetricType(f.text) && !namesResourceType(f.text)) {
          report(`${conditionLabel(condition, index)} of ${args.name}: ${f.kind}.${f.field} names a metric.type but no resource.type, which the Monitoring API rejects: ${f.text}`);
        }
      }
    }
  }),
};

// Swallowed failures made loud (docs/ARCHITECTURE.md FM4): a function that answers 5xx (work not done, Pub/Sub retrying) must page
// someone, not wait in a dashboard.
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { conditionsOf, conditionText, counts5xx, isDisabled, scopeCovers, scopedServices } from "../lib/alerting.ts";
import { at, stringAt, UNKNOWN } from "../lib/props.ts";
import { dependenciesOf, describe, ofType } from "../lib/stack-graph.ts";
import { T } from "../lib/types.ts";

/** The names a function's service is known by in metric labels. */
export function serviceNamesOf(fn: PolicyResource): string[] {
  const names = [stringAt(fn.props, "name"), stringAt(fn.props, "serviceConfig", "service")]
    .filter((n): n is string => typeof n === "string")
    .map((n) => n.slice(n.lastIndexOf("/") + 1));
  return [...new Set(names)];
}

/** Whether an enabled alert policy counts this function's 5xx responses. */
export function alertsOn5xx(policy: PolicyResource, fn: PolicyResource): boolean {
  if (isDisabled(policy.props)) return false;
  const computedFromFn = dependenciesOf(policy, "conditions", T.function).some((d) => d.urn === fn.urn);
  if (at(policy.props, "conditions") === UNKNOWN) return computedFromFn;
  return conditionsOf(policy.props).some((c) => {
    const text = conditionText(c);
    // A condition computed from the function during a preview is given the benefit of the doubt.
    if (text === UNKNOWN) return computedFromFn;
    if (text === undefined || !counts5xx(text)) return false;
    const scope = scopedServices(text);
    return serviceNamesOf(fn).some((name) => scopeCovers(scope, name));
  });
}

export const function5xxAlert: StackValidationPolicy = {
  name: "function-5xx-alert",
  description: "Every function is covered by an enabled alert policy on its 5xx responses (scoped to its service, or to every service).",
  remediationSteps: 'Declare a gcp.monitoring.AlertPolicy with a condition on run.googleapis.com/request_count filtered by metric.labels.response_code_class="5xx" and the function\'s service_name (infra/components/alerting.ts, function5xxCondition).',
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const policies = ofType(args.resources, T.alertPolicy);
    for (const fn of ofType(args.resources, T.function)) {
      if (!policies.some((p) => alertsOn5xx(p, fn))) {
        report(`${describe(fn)} has no enabled alert policy on its 5xx responses: failing runs would go unnoticed`, fn.urn);
      }
    }
  },
};

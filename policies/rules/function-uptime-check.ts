// docs/ARCHITECTURE.md FM1 and FM11: a function that cannot start (or a stalled one) produces no errors at all.
// An uptime check on /health, with an alert on it, notices what no request-based alert can.
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { conditionsOf, conditionText, isDisabled, watchesUptimeCheck } from "../lib/alerting.ts";
import { at, stringAt, UNKNOWN } from "../lib/props.ts";
import { dependenciesOf, describe, functionServiceMatches, ofType } from "../lib/stack-graph.ts";
import { T } from "../lib/types.ts";

const hostOf = (url: string): string | undefined => /^https?:\/\/([^/:?#]+)/i.exec(url)?.[1]?.toLowerCase();

/** Whether an uptime check probes this function (its Cloud Run service, or its URL's host). */
export function checksFunction(check: PolicyResource, fn: PolicyResource): boolean {
  const service = stringAt(check.props, "monitoredResource", "labels", "service_name");
  const host = stringAt(check.props, "monitoredResource", "labels", "host");
  if (typeof service === "string") return functionServiceMatches(fn, service);
  if (typeof host === "string") {
    const fnHosts = [stringAt(fn.props, "serviceConfig", "uri"), stringAt(fn.props, "url")].filter((u): u is string => typeof u === "string").map(hostOf);
    return fnHosts.includes(host.toLowerCase());
  }
  // Computed during a preview: the check probes the function its target was computed from.
  return (service === UNKNOWN || host === UNKNOWN) && dependenciesOf(check, "monitoredResource", T.function).some((d) => d.urn === fn.urn);
}

/** Whether an enabled alert policy fires on this uptime check's failures. */
export function alertsOnCheck(policy: PolicyResource, check: PolicyResource): boolean {
  if (isDisabled(policy.props)) return false;
  const computedFromCheck = dependenciesOf(policy, "conditions", T.uptimeCheck).some((d) => d.urn === check.urn);
  if (at(policy.props, "conditions") === UNKNOWN) return computedFromCheck;
  const id = stringAt(check.props, "uptimeCheckId");
  return conditionsOf(policy.props).some((c) => {
    const text = conditionText(c);
    if (text === UNKNOWN) return computedFromCheck;
    return text !== undefined && watchesUptimeCheck(text, typeof id === "string" ? id : undefined);
  });
}

export const functionUptimeCheck: StackValidationPolicy = {
  name: "function-uptime-check",
  description: "Every function is probed by an uptime check (its /health endpoint) and an enabled alert policy fires when that check fails.",
  remediationSteps: "Declare a gcp.monitoring.UptimeCheckConfig on the function's service (path /health, OIDC service-agent authentication) and an AlertPolicy on monitoring.googleapis.com/uptime_check/check_passed for its check_id (infra/components/alerting.ts).",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const checks = ofType(args.resources, T.uptimeCheck);
    const policies = ofType(args.resources, T.alertPolicy);
    for (const fn of ofType(args.resources, T.function)) {
      const mine = checks.filter((c) => checksFunction(c, fn));
      if (mine.length === 0) {
        report(`${describe(fn)} has no uptime check: a function that cannot start would go unnoticed`, fn.urn);
      } else if (!mine.some((c) => policies.some((p) => alertsOnCheck(p, c)))) {
        report(`no enabled alert policy fires on the uptime check of ${describe(fn)} (${mine.map((c) => c.name).join(", ")}): its failures would notify nobody`, fn.urn);
      }
    }
  },
};

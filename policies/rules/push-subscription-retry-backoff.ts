// Without a retry policy Pub/Sub redelivers a failed push at once, hammering a struggling function;
// with one it backs off exponentially between minimumBackoff and maximumBackoff.
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { forTypes } from "../lib/define.ts";
import { at, durationSeconds, UNKNOWN } from "../lib/props.ts";
import { isPushSubscription } from "../lib/stack-graph.ts";
import { T } from "../lib/types.ts";
import {
  DEFAULT_MAXIMUM_BACKOFF_SECONDS,
  DEFAULT_MINIMUM_BACKOFF_SECONDS,
  RETRY_BACKOFF_SECONDS,
  retryBackoffProblems,
} from "../../functions/core/platform-limits.ts";

/** Pub/Sub's bound for both backoff values. */
export const MAX_BACKOFF_SECONDS = RETRY_BACKOFF_SECONDS.max;

export const pushSubscriptionRetryBackoff: ResourceValidationPolicy = {
  name: "push-subscription-retry-backoff",
  description: "Every push subscription has a retry policy with exponential backoff (minimumBackoff below maximumBackoff, both at most 600s).",
  remediationSteps: 'Set retryPolicy: { minimumBackoff: "10s", maximumBackoff: "600s" } (the pushMinimumBackoffSeconds / pushMaximumBackoffSeconds stack config) on the subscription.',
  enforcementLevel: "mandatory",
  validateResource: forTypes([T.subscription], (props, _args, report) => {
    if (!isPushSubscription(props)) return;
    const retry = at(props, "retryPolicy");
    if (retry === UNKNOWN) return;
    if (retry === undefined || retry === null) {
      report("push subscription has no retryPolicy: failed pushes are redelivered immediately, without backoff");
      return;
    }
    const bound = (key: "minimumBackoff" | "maximumBackoff"): number | undefined => {
      const raw = at(retry, key);
      if (raw === undefined || raw === UNKNOWN) return undefined;
      const s = durationSeconds(raw);
      if (s === undefined) report(`retryPolicy.${key} ${JSON.stringify(raw)} is not a duration like "10s"`);
      return s;
    };
    // Pub/Sub's defaults apply to an unset bound.
    const min = bound("minimumBackoff") ?? DEFAULT_MINIMUM_BACKOFF_SECONDS;
    const max = bound("maximumBackoff") ?? DEFAULT_MAXIMUM_BACKOFF_SECONDS;
    for (const problem of retryBackoffProblems(min, max)) report(`retryPolicy: ${problem}`);
  }),
};

// docs/ARCHITECTURE.md FM8: an ack deadline shorter than the function's run time makes Pub/Sub redeliver a
// message that is still being processed (duplicates), and count it as a failed delivery.
import type { StackValidationPolicy } from "@pulumi/policy";
import { numberAt, UNKNOWN } from "../lib/props.ts";
import { describe, isPushSubscription, ofType, pushTargets } from "../lib/stack-graph.ts";
import { T } from "../lib/types.ts";
import { DEFAULT_ACK_DEADLINE_SECONDS, DEFAULT_FUNCTION_TIMEOUT_SECONDS } from "../../functions/core/platform-limits.ts";

/** Defaults when unset: Pub/Sub's ack deadline, and a 2nd gen function's timeout. */
export { DEFAULT_ACK_DEADLINE_SECONDS, DEFAULT_FUNCTION_TIMEOUT_SECONDS };

export const pushSubscriptionAckDeadline: StackValidationPolicy = {
  name: "push-subscription-ack-deadline",
  description: "Every push subscription's ackDeadlineSeconds is at least the timeout of the function it pushes to.",
  remediationSteps: "Set ackDeadlineSeconds on the subscription to at least the function's serviceConfig.timeoutSeconds (at most 600, so keep push-triggered functions' timeouts at or below 600s).",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const functions = ofType(args.resources, T.function);
    for (const sub of ofType(args.resources, T.subscription)) {
      if (!isPushSubscription(sub.props)) continue;
      const ack = numberAt(sub.props, "ackDeadlineSeconds") ?? DEFAULT_ACK_DEADLINE_SECONDS;
      if (ack === UNKNOWN) continue;
      for (const fn of pushTargets(sub, functions, T.function)) {
        const timeout = numberAt(fn.props, "serviceConfig", "timeoutSeconds") ?? DEFAULT_FUNCTION_TIMEOUT_SECONDS;
        if (timeout === UNKNOWN) continue;
        if (ack < timeout) {
          report(`ackDeadlineSeconds ${ack} of ${describe(sub)} is below the ${timeout}s timeout of ${describe(fn)}: a slow run is redelivered while it still runs`, sub.urn);
        }
      }
    }
  },
};

// docs/ARCHITECTURE.md FM8: a push subscription without a dead-letter topic retries a poison message forever
// (or, with a retention limit, drops it silently).
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { forTypes } from "../lib/define.ts";
import { at, numberAt, stringAt, UNKNOWN } from "../lib/props.ts";
import { isPushSubscription } from "../lib/stack-graph.ts";
import { T } from "../lib/types.ts";
import { inRange, MAX_DELIVERY_ATTEMPTS } from "../../functions/core/platform-limits.ts";

/** Pub/Sub's bounds for maxDeliveryAttempts. */
export const MIN_DELIVERY_ATTEMPTS = MAX_DELIVERY_ATTEMPTS.min;
const MAX_ATTEMPTS = MAX_DELIVERY_ATTEMPTS.max;

export const pushSubscriptionDeadLetter: ResourceValidationPolicy = {
  name: "push-subscription-dead-letter",
  description: "Every push subscription has a dead-letter topic and an explicit maxDeliveryAttempts, so a message that keeps failing is parked, not retried forever or lost.",
  remediationSteps: `Set deadLetterPolicy: { deadLetterTopic: <dead-letter topic id>, maxDeliveryAttempts: ${MIN_DELIVERY_ATTEMPTS}..${MAX_ATTEMPTS} } on the subscription (infra/components/push-subscription.ts declares one per transition), and give the dead-letter topic its own subscription.`,
  enforcementLevel: "mandatory",
  validateResource: forTypes([T.subscription], (props, _args, report) => {
    if (!isPushSubscription(props)) return;
    const policy = at(props, "deadLetterPolicy");
    if (policy === UNKNOWN) return;
    if (policy === undefined || policy === null) {
      report("push subscription has no deadLetterPolicy: failing messages are never parked in a dead-letter topic");
      return;
    }
    const topic = stringAt(policy, "deadLetterTopic");
    if (topic === undefined) report("deadLetterPolicy has no deadLetterTopic");
    const ownTopic = stringAt(props, "topic");
    if (typeof topic === "string" && typeof ownTopic === "string" && topic === ownTopic) {
      report(`deadLetterPolicy.deadLetterTopic is the subscription's own topic (${topic}): dead letters would be delivered again`);
    }
    const attempts = numberAt(policy, "maxDeliveryAttempts");
    if (attempts === undefined) {
      report("deadLetterPolicy.maxDeliveryAttempts is not set: declare how many deliveries a message gets before it is dead-lettered");
    } else if (attempts !== UNKNOWN && !inRange(attempts, MAX_DELIVERY_ATTEMPTS)) {
      report(`deadLetterPolicy.maxDeliveryAttempts is ${attempts}; Pub/Sub accepts ${MIN_DELIVERY_ATTEMPTS}..${MAX_ATTEMPTS}`);
    }
  }),
};

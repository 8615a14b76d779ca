// A subscription with no activity expires after 31 days by default, and a dead-letter subscription
// is idle by design: when it expires, the dead-letter topic silently has no subscription again.
// Advisory: someone may drain dead letters elsewhere.
import type { StackValidationPolicy } from "@pulumi/policy";
import { at, stringAt, UNKNOWN } from "../lib/props.ts";
import { describe, ofType, resolveReference, topicMatches } from "../lib/stack-graph.ts";
import { T } from "../lib/types.ts";

export const deadLetterSubscriptionRetention: StackValidationPolicy = {
  name: "dead-letter-subscription-retention",
  description: "Subscriptions of dead-letter topics never expire (expirationPolicy.ttl \"\"), so an idle dead-letter queue keeps its subscription.",
  remediationSteps: 'Set expirationPolicy: { ttl: "" } on the dead-letter subscription (infra/components/dead-letter-queue.ts).',
  enforcementLevel: "advisory",
  validateStack: (args, report) => {
    const topics = ofType(args.resources, T.topic);
    const subscriptions = ofType(args.resources, T.subscription);
    const dlqTopicUrns = new Set(
      subscriptions.flatMap((s) =>
        resolveReference(s, "deadLetterPolicy", stringAt(s.props, "deadLetterPolicy", "deadLetterTopic"), topics, T.topic, topicMatches).map((t) => t.urn),
      ),
    );
    for (const sub of subscriptions) {
      const reads = resolveReference(sub, "topic", stringAt(sub.props, "topic"), topics, T.topic, topicMatches);
      if (!reads.some((t) => dlqTopicUrns.has(t.urn))) continue;
      const ttl = at(sub.props, "expirationPolicy", "ttl");
      if (ttl === UNKNOWN || ttl === "") continue;
      report(`dead-letter subscription ${describe(sub)} expires after ${ttl === undefined ? "31 days (the default)" : String(ttl)} without activity`, sub.urn);
    }
  },
};

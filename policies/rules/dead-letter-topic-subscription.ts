// A message published to a topic without subscriptions is dropped: a dead-letter topic nobody
// subscribes to loses every dead letter.
import type { StackValidationPolicy } from "@pulumi/policy";
import { stringAt, UNKNOWN } from "../lib/props.ts";
import { describe, ofType, resolveReference, topicMatches } from "../lib/stack-graph.ts";
import { T } from "../lib/types.ts";

export const deadLetterTopicSubscription: StackValidationPolicy = {
  name: "dead-letter-topic-subscription",
  description: "Every dead-letter topic is declared in the stack and has a subscription, so dead letters are kept (a topic without subscriptions drops what is published to it).",
  remediationSteps: "Declare the dead-letter topic in this stack with a pull subscription of its own (infra/components/dead-letter-queue.ts), and point deadLetterPolicy.deadLetterTopic at that topic.",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const topics = ofType(args.resources, T.topic);
    const subscriptions = ofType(args.resources, T.subscription);
    const topicOf = new Map(subscriptions.map((s) => [s.urn, resolveReference(s, "topic", stringAt(s.props, "topic"), topics, T.topic, topicMatches)]));
    const reported = new Set<string>();
    for (const sub of subscriptions) {
      const ref = stringAt(sub.props, "deadLetterPolicy", "deadLetterTopic");
      if (ref === undefined) continue;
      const dlqTopics = resolveReference(sub, "deadLetterPolicy", ref, topics, T.topic, topicMatches);
      if (dlqTopics.length === 0) {
        const shown = ref === UNKNOWN ? "(computed)" : ref;
        report(`dead-letter topic ${shown} of ${describe(sub)} is not declared in this stack, so nothing shows that it has a subscription`, sub.urn);
        continue;
      }
      for (const topic of dlqTopics) {
        const readers = subscriptions.filter((s) => s.urn !== sub.urn && (topicOf.get(s.urn) ?? []).some((t) => t.urn === topic.urn));
        if (readers.length === 0 && !reported.has(topic.urn)) {
          reported.add(topic.urn);
          report(`dead-letter topic ${describe(topic)} of ${describe(sub)} has no subscription: every dead letter would be lost`, topic.urn);
        }
      }
    }
  },
};

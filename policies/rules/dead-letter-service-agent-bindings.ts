// Pub/Sub forwards an undeliverable message as its own service agent: it must be allowed to publish
// to the dead-letter topic and to subscribe to (ack the message on) the source subscription. Without
// either grant nothing is dead-lettered and nothing says so; the message is just redelivered until
// its retention runs out.
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { bindingGrants } from "../lib/iam.ts";
import type { MemberMatches } from "../lib/iam.ts";
import { stringAt, UNKNOWN } from "../lib/props.ts";
import type { Unknown } from "../lib/props.ts";
import { dependenciesOf, describe, ofType, resolveReference, subscriptionMatches, topicMatches } from "../lib/stack-graph.ts";
import { PROJECT_IAM_TYPES, SUBSCRIPTION_IAM_TYPES, T, TOPIC_IAM_TYPES } from "../lib/types.ts";

const SERVICE_AGENT = /^serviceAccount:service-\d+@gcp-sa-pubsub\.iam\.gserviceaccount\.com$/i;

/** Predefined roles that carry pubsub.topics.publish / pubsub.subscriptions.consume. */
const PUBLISHER_ROLES: ReadonlySet<string> = new Set(["roles/pubsub.publisher", "roles/pubsub.editor", "roles/pubsub.admin"]);
const SUBSCRIBER_ROLES: ReadonlySet<string> = new Set(["roles/pubsub.subscriber", "roles/pubsub.editor", "roles/pubsub.admin"]);

/**
 * The member is the Pub/Sub service agent. A member computed during a preview counts unless it was
 * computed from an account declared in the stack (a service agent is Google's, never declared).
 */
const isServiceAgent: MemberMatches = (binding, prop, member) =>
  member === UNKNOWN ? dependenciesOf(binding, prop, T.account).length === 0 : SERVICE_AGENT.test(member);

const lastSegment = (s: string): string => s.slice(s.lastIndexOf("/") + 1);

/** Whether a topic IAM resource is on the dead-letter topic (declared: by reference; not declared: by name). */
function onDeadLetterTopic(binding: PolicyResource, dlqRef: string | Unknown, dlqTopics: readonly PolicyResource[], topics: readonly PolicyResource[]): boolean {
  const ref = stringAt(binding.props, "topic");
  if (ref === undefined) return false;
  if (dlqTopics.length > 0) return resolveReference(binding, "topic", ref, topics, T.topic, topicMatches).some((t) => dlqTopics.some((d) => d.urn === t.urn));
  return typeof ref === "string" && typeof dlqRef === "string" && lastSegment(ref) === lastSegment(dlqRef);
}

function onSubscription(binding: PolicyResource, sub: PolicyResource, subscriptions: readonly PolicyResource[]): boolean {
  const ref = stringAt(binding.props, "subscription");
  if (ref === undefined) return false;
  return resolveReference(binding, "subscription", ref, subscriptions, T.subscription, subscriptionMatches).some((s) => s.urn === sub.urn);
}

const grantsAgent = (binding: PolicyResource, roles: ReadonlySet<string>): boolean => bindingGrants(binding, (role) => roles.has(role), isServiceAgent);

export const deadLetterServiceAgentBindings: StackValidationPolicy = {
  name: "dead-letter-service-agent-bindings",
  description:
    "For every subscription with a dead-letter policy, the Pub/Sub service agent (service-<project number>@gcp-sa-pubsub.iam.gserviceaccount.com) holds roles/pubsub.publisher on the dead-letter topic and roles/pubsub.subscriber on the subscription; without them dead-lettering fails silently.",
  remediationSteps:
    "Declare a gcp.pubsub.TopicIAMMember { topic: <dead-letter topic>, role: \"roles/pubsub.publisher\", member: <Pub/Sub service agent> } (infra/components/dead-letter-queue.ts) and a gcp.pubsub.SubscriptionIAMMember { subscription: <subscription>, role: \"roles/pubsub.subscriber\", member: <Pub/Sub service agent> } (infra/components/push-subscription.ts).",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const topics = ofType(args.resources, T.topic);
    const subscriptions = ofType(args.resources, T.subscription);
    const topicBindings = args.resources.filter((r) => TOPIC_IAM_TYPES.has(r.type));
    const subscriptionBindings = args.resources.filter((r) => SUBSCRIPTION_IAM_TYPES.has(r.type));
    const projectBindings = args.resources.filter((r) => PROJECT_IAM_TYPES.has(r.type));
    const projectGrants = (roles: ReadonlySet<string>): boolean => projectBindings.some((b) => grantsAgent(b, roles));

    for (const sub of subscriptions) {
      const dlqRef = stringAt(sub.props, "deadLetterPolicy", "deadLetterTopic");
      if (dlqRef === undefined) continue;
      const dlqTopics = resolveReference(sub, "deadLetterPolicy", dlqRef, topics, T.topic, topicMatches);
      // A computed reference to a topic not declared here cannot be followed (dead-letter-topic-subscription reports it).
      if (!(dlqRef === UNKNOWN && dlqTopics.length === 0)) {
        const canPublish = topicBindings.some((b) => onDeadLetterTopic(b, dlqRef, dlqTopics, topics) && grantsAgent(b, PUBLISHER_ROLES)) || projectGrants(PUBLISHER_ROLES);
        if (!canPublish) {
          const shown = dlqTopics.length > 0 ? dlqTopics.map(describe).join(", ") : String(dlqRef);
          report(
            `the Pub/Sub service agent holds no roles/pubsub.publisher on dead-letter topic ${shown} of ${describe(sub)}: undeliverable messages cannot be forwarded, and dead-lettering fails silently`,
            sub.urn,
          );
        }
      }
      const canSubscribe = subscriptionBindings.some((b) => onSubscription(b, sub, subscriptions) && grantsAgent(b, SUBSCRIBER_ROLES)) || projectGrants(SUBSCRIBER_ROLES);
      if (!canSubscribe) {
        report(
          `the Pub/Sub service agent holds no roles/pubsub.subscriber on ${describe(sub)}: it cannot acknowledge the undeliverable messages it forwards, so dead-lettering fails silently`,
          sub.urn,
        );
      }
    }
  },
};

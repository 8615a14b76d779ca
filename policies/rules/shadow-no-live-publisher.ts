// In shadow mode the existing orchestrator triggers the pipeline; ours must never publish a trigger to
// a live topic (downstream services do not de-duplicate across the two systems, so a phase would run
// twice). The routing keeps our code off the live topics; this keeps our identities off them too, so
// a mistake in code or config fails on permissions instead of triggering a phase twice.
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { bindingGrants } from "../lib/iam.ts";
import { stringAt, UNKNOWN } from "../lib/props.ts";
import { accountMatches, dependenciesOf, describe, ofType, resolveReference, topicMatches } from "../lib/stack-graph.ts";
import { liveTriggerTopicsOf, shadowFunctions } from "../lib/trigger-mode.ts";
import { T, TOPIC_IAM_TYPES } from "../lib/types.ts";

/** Predefined roles that carry pubsub.topics.publish. */
const PUBLISHER_ROLES: ReadonlySet<string> = new Set(["roles/pubsub.publisher", "roles/pubsub.editor", "roles/pubsub.admin"]);

export const shadowNoLivePublisher: StackValidationPolicy = {
  name: "shadow-no-live-publisher",
  description: "In shadow mode no function's service account holds publish permission on a live trigger topic.",
  remediationSteps:
    "Grant publisher on the shadow topics only: the program derives grants from the routed topics (infra/function-grants.ts through functions/core/trigger-routing.ts); remove any grant added by hand.",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const shadowFns = shadowFunctions(args.resources);
    if (shadowFns.length === 0) return;
    const accounts = ofType(args.resources, T.account);
    const topics = ofType(args.resources, T.topic);
    const live = liveTriggerTopicsOf(args.resources);
    // The identities of the shadow functions: the declared accounts and the literal emails.
    const fnAccounts: PolicyResource[] = [];
    const fnEmails = new Set<string>();
    for (const fn of shadowFns) {
      const email = stringAt(fn.props, "serviceConfig", "serviceAccountEmail");
      if (typeof email === "string") fnEmails.add(email.toLowerCase());
      fnAccounts.push(...resolveReference(fn, "serviceConfig", email, accounts, T.account, accountMatches));
    }
    const isShadowFunctionIdentity = (binding: PolicyResource, prop: string, member: string | typeof UNKNOWN): boolean => {
      if (member === UNKNOWN) return dependenciesOf(binding, prop, T.account).some((a) => fnAccounts.some((f) => f.urn === a.urn));
      const email = member.startsWith("serviceAccount:") ? member.slice("serviceAccount:".length).toLowerCase() : undefined;
      return email !== undefined && (fnEmails.has(email) || fnAccounts.some((a) => accountMatches(a, member)));
    };
    for (const binding of args.resources.filter((r) => TOPIC_IAM_TYPES.has(r.type))) {
      const ref = stringAt(binding.props, "topic");
      if (ref === undefined) continue;
      const onTopics = resolveReference(binding, "topic", ref, topics, T.topic, topicMatches);
      const liveTopic = onTopics.find((t) => live.some((l) => l.urn === t.urn));
      if (liveTopic === undefined) continue;
      if (bindingGrants(binding, (role) => PUBLISHER_ROLES.has(role), isShadowFunctionIdentity)) {
        report(`${describe(binding)} lets a shadow-mode function publish to the live trigger topic ${describe(liveTopic)}`, binding.urn);
      }
    }
  },
};

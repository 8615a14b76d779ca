// docs/ARCHITECTURE.md FM6: a redeploy dropped the run.invoker binding of the push account, and every push
// was rejected (403) with nothing in the function's logs, for a week. The binding is checked here
// against the subscription that needs it: its OIDC account must hold run.invoker on the service of
// the function it pushes to.
import type { StackValidationPolicy } from "@pulumi/policy";
import { stringAt } from "../lib/props.ts";
import { callerIdentity, holdsRunInvoker, showIdentity } from "../lib/run-invoker.ts";
import { describe, isPushSubscription, ofType, pushTargets } from "../lib/stack-graph.ts";
import { T } from "../lib/types.ts";

export const pushSubscriptionInvoker: StackValidationPolicy = {
  name: "push-subscription-invoker",
  description: "The service account of every push subscription holds roles/run.invoker on the Cloud Run service of the function it pushes to, declared in the same stack.",
  remediationSteps: "Declare a gcp.cloudrunv2.ServiceIamMember { name: <function's service>, location, role: \"roles/run.invoker\", member: \"serviceAccount:<push account email>\" } next to the subscription (infra/components/push-subscription.ts), and make the subscription depend on it.",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const functions = ofType(args.resources, T.function);
    const accounts = ofType(args.resources, T.account);
    for (const sub of ofType(args.resources, T.subscription)) {
      if (!isPushSubscription(sub.props)) continue;
      const email = stringAt(sub.props, "pushConfig", "oidcToken", "serviceAccountEmail");
      // No OIDC identity at all is push-subscription-oidc-token's finding.
      if (email === undefined) continue;
      const who = callerIdentity(sub, "pushConfig", email, accounts);
      for (const fn of pushTargets(sub, functions, T.function)) {
        if (!holdsRunInvoker(who, fn, args.resources)) {
          report(
            `push account ${showIdentity(who)} of ${describe(sub)} holds no roles/run.invoker on the service of ${describe(fn)}: every push would be rejected with 403`,
            sub.urn,
          );
        }
      }
    }
  },
};

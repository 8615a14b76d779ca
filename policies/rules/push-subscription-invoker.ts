// Failure mode 6: a redeploy dropped the run.invoker binding of the push account, and every push
// was rejected (403) with nothing in the function's logs, for a week. The binding is checked here
// against the subscription that needs it: its OIDC account must hold run.invoker on the service of
// the function it pushes to.
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { at, elementsOf, isUnknown, stringAt, UNKNOWN } from "../lib/props.ts";
import type { Unknown } from "../lib/props.ts";
import { accountMatches, dependenciesOf, describe, functionServiceMatches, isPushSubscription, ofType, pushTargets, resolveReference } from "../lib/stack-graph.ts";
import { RUN_INVOKER_ROLES, RUN_SERVICE_IAM_TYPES, T } from "../lib/types.ts";

/** Who the push authenticates as: the email (if known) and the declared accounts it resolves to. */
interface PushIdentity {
  email: string | Unknown;
  accounts: PolicyResource[];
}

function grantsTo(binding: PolicyResource, prop: string, member: unknown, who: PushIdentity): boolean {
  if (isUnknown(member)) {
    // Computed during a preview: it names the push account if it was computed from it.
    return dependenciesOf(binding, prop, T.account).some((a) => who.accounts.some((p) => p.urn === a.urn));
  }
  if (typeof member !== "string" || !member.startsWith("serviceAccount:")) return false;
  const email = member.slice("serviceAccount:".length);
  if (typeof who.email === "string" && email.toLowerCase() === who.email.toLowerCase()) return true;
  return who.accounts.some((a) => accountMatches(a, email));
}

function roleGrantsInvoke(role: unknown): boolean {
  return isUnknown(role) || (typeof role === "string" && RUN_INVOKER_ROLES.has(role));
}

/** Whether an IAM resource on a Cloud Run service is attached to this function's service. */
function onServiceOf(binding: PolicyResource, fn: PolicyResource, functions: readonly PolicyResource[]): boolean {
  const prop = binding.type.startsWith("gcp:cloudrunv2/") ? "name" : "service";
  const ref = stringAt(binding.props, prop);
  if (ref === undefined) return false;
  const services = resolveReference(binding, prop, ref, functions, T.function, functionServiceMatches);
  if (!services.some((s) => s.urn === fn.urn)) return false;
  const where = stringAt(binding.props, "location");
  const fnWhere = stringAt(fn.props, "location");
  return !(typeof where === "string" && typeof fnWhere === "string" && where !== fnWhere);
}

function bindingGrants(binding: PolicyResource, who: PushIdentity): boolean {
  const policyData = stringAt(binding.props, "policyData");
  if (policyData === UNKNOWN) return dependenciesOf(binding, "policyData", T.account).some((a) => who.accounts.some((p) => p.urn === a.urn));
  if (typeof policyData === "string") {
    const doc = JSON.parse(policyData) as { bindings?: { role?: string; members?: string[] }[] };
    return (doc.bindings ?? []).some((b) => roleGrantsInvoke(b.role) && (b.members ?? []).some((m) => grantsTo(binding, "policyData", m, who)));
  }
  if (!roleGrantsInvoke(at(binding.props, "role"))) return false;
  const member = at(binding.props, "member");
  if (member !== undefined) return grantsTo(binding, "member", member, who);
  const members = at(binding.props, "members");
  if (members === UNKNOWN) return grantsTo(binding, "members", UNKNOWN, who);
  return elementsOf(members).some((m) => grantsTo(binding, "members", m, who));
}

export const pushSubscriptionInvoker: StackValidationPolicy = {
  name: "push-subscription-invoker",
  description: "The service account of every push subscription holds roles/run.invoker on the Cloud Run service of the function it pushes to, declared in the same stack.",
  remediationSteps: "Declare a gcp.cloudrunv2.ServiceIamMember { name: <function's service>, location, role: \"roles/run.invoker\", member: \"serviceAccount:<push account email>\" } next to the subscription (infra/components/push-subscription.ts), and make the subscription depend on it.",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const functions = ofType(args.resources, T.function);
    const accounts = ofType(args.resources, T.account);
    const serviceBindings = args.resources.filter((r) => RUN_SERVICE_IAM_TYPES.has(r.type));
    const projectBindings = args.resources.filter((r) => r.type === T.projectIamMember || r.type === T.projectIamBinding);
    for (const sub of ofType(args.resources, T.subscription)) {
      if (!isPushSubscription(sub.props)) continue;
      const email = stringAt(sub.props, "pushConfig", "oidcToken", "serviceAccountEmail");
      // No OIDC identity at all is push-subscription-oidc-token's finding.
      if (email === undefined) continue;
      const who: PushIdentity = { email, accounts: resolveReference(sub, "pushConfig", email, accounts, T.account, accountMatches) };
      const shownAccount = typeof email === "string" ? email : who.accounts.map((a) => a.name).join(", ") || "(computed)";
      for (const fn of pushTargets(sub, functions, T.function)) {
        const granted =
          serviceBindings.some((b) => onServiceOf(b, fn, functions) && bindingGrants(b, who)) || projectBindings.some((b) => bindingGrants(b, who));
        if (!granted) {
          report(
            `push account ${shownAccount} of ${describe(sub)} holds no roles/run.invoker on the service of ${describe(fn)}: every push would be rejected with 403`,
            sub.urn,
          );
        }
      }
    }
  },
};

// Whether a caller identity (a push subscription's or a scheduler job's OIDC account) holds
// roles/run.invoker on the Cloud Run service of a 2nd gen function: granted on that service, or
// project-wide. Matching is by value when known, else through property dependencies (a preview).
import type { PolicyResource } from "@pulumi/policy";
import { bindingGrants } from "./iam.ts";
import { stringAt } from "./props.ts";
import type { Unknown } from "./props.ts";
import { accountMatches, dependenciesOf, functionServiceMatches, resolveReference } from "./stack-graph.ts";
import { PROJECT_IAM_TYPES, RUN_INVOKER_ROLES, RUN_SERVICE_IAM_TYPES, T } from "./types.ts";

/** Who a caller authenticates as: the email (if known) and the declared accounts it resolves to. */
export interface CallerIdentity {
  email: string | Unknown;
  accounts: PolicyResource[];
}

/** The identity behind an OIDC `serviceAccountEmail` read from the holder's property `prop`. */
export function callerIdentity(holder: PolicyResource, prop: string, email: string | Unknown, accounts: readonly PolicyResource[]): CallerIdentity {
  return { email, accounts: resolveReference(holder, prop, email, accounts, T.account, accountMatches) };
}

/** How to name the identity in a message. */
export function showIdentity(who: CallerIdentity): string {
  return typeof who.email === "string" ? who.email : who.accounts.map((a) => a.name).join(", ") || "(computed)";
}

function grantsTo(binding: PolicyResource, prop: string, member: string | Unknown, who: CallerIdentity): boolean {
  if (typeof member !== "string") {
    // Computed during a preview: it names the caller if it was computed from the caller's account.
    return dependenciesOf(binding, prop, T.account).some((a) => who.accounts.some((p) => p.urn === a.urn));
  }
  if (!member.startsWith("serviceAccount:")) return false;
  const email = member.slice("serviceAccount:".length);
  if (typeof who.email === "string" && email.toLowerCase() === who.email.toLowerCase()) return true;
  return who.accounts.some((a) => accountMatches(a, email));
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

const invokes = (role: string): boolean => RUN_INVOKER_ROLES.has(role);

/** Whether `who` may invoke `fn`'s Cloud Run service, by a grant declared among `resources`. */
export function holdsRunInvoker(who: CallerIdentity, fn: PolicyResource, resources: readonly PolicyResource[]): boolean {
  const functions = resources.filter((r) => r.type === T.function);
  const memberIsCaller = (b: PolicyResource, prop: string, member: string | Unknown): boolean => grantsTo(b, prop, member, who);
  return resources.some(
    (b) =>
      (RUN_SERVICE_IAM_TYPES.has(b.type) && onServiceOf(b, fn, functions) && bindingGrants(b, invokes, memberIsCaller)) ||
      (PROJECT_IAM_TYPES.has(b.type) && bindingGrants(b, invokes, memberIsCaller)),
  );
}

// Finding, in a stack, the resource another one refers to. A reference is matched by value when
// the value is known (offline plan, or an update), and through the holder's property dependencies
// when it is not (a preview, where a function's URL or an account's email is computed later).
import type { PolicyResource } from "@pulumi/policy";
import { at, stringAt, UNKNOWN } from "./props.ts";
import type { Unknown } from "./props.ts";

export function ofType(resources: readonly PolicyResource[], type: string): PolicyResource[] {
  return resources.filter((r) => r.type === type);
}

/** Resources of `type` that the holder's property `prop` was computed from. */
export function dependenciesOf(holder: PolicyResource, prop: string, type: string): PolicyResource[] {
  const deps = Object.prototype.hasOwnProperty.call(holder.propertyDependencies, prop) ? holder.propertyDependencies[prop] : undefined;
  const found: PolicyResource[] = [];
  for (const d of deps ?? []) if (d.type === type && !found.some((f) => f.urn === d.urn)) found.push(d);
  return found;
}

/**
 * The resources of `type` a reference points at: by value when `value` is known and matches;
 * otherwise (unknown, or a known value in a form we do not recognise) by property dependency.
 */
export function resolveReference(
  holder: PolicyResource,
  prop: string,
  value: string | Unknown | undefined,
  candidates: readonly PolicyResource[],
  type: string,
  matches: (candidate: PolicyResource, value: string) => boolean,
): PolicyResource[] {
  if (value === undefined) return [];
  if (value !== UNKNOWN) {
    const byValue = candidates.filter((c) => c.type === type && matches(c, value));
    if (byValue.length > 0) return byValue;
  }
  return dependenciesOf(holder, prop, type);
}

const lastSegment = (s: string): string => s.slice(s.lastIndexOf("/") + 1);

/** A topic reference: its id ("projects/P/topics/N"), or its name. */
export function topicMatches(topic: PolicyResource, ref: string): boolean {
  const id = stringAt(topic.props, "id");
  const name = stringAt(topic.props, "name");
  return (typeof id === "string" && id === ref) || (typeof name === "string" && (ref === name || ref.endsWith(`/topics/${name}`)));
}

/** A subscription reference: its id ("projects/P/subscriptions/N"), or its name. */
export function subscriptionMatches(subscription: PolicyResource, ref: string): boolean {
  const id = stringAt(subscription.props, "id");
  const name = stringAt(subscription.props, "name");
  return (typeof id === "string" && id === ref) || (typeof name === "string" && (ref === name || ref.endsWith(`/subscriptions/${name}`)));
}

/** An account reference: an email or an IAM member ("serviceAccount:<email>"). */
export function accountMatches(account: PolicyResource, ref: string): boolean {
  const email = ref.startsWith("serviceAccount:") ? ref.slice("serviceAccount:".length) : ref;
  const known = stringAt(account.props, "email");
  const accountId = stringAt(account.props, "accountId");
  return (typeof known === "string" && known === email) || (typeof accountId === "string" && email.startsWith(`${accountId}@`));
}

/** The email an account is known by, or UNKNOWN (a preview computes it). */
export function accountEmail(account: PolicyResource): string | Unknown {
  const email = stringAt(account.props, "email");
  return typeof email === "string" ? email : UNKNOWN;
}

/**
 * A reference to the Cloud Run service behind a 2nd gen function: the service's short name (which
 * is the function's name), or its full name ".../services/<name>".
 */
export function functionServiceMatches(fn: PolicyResource, ref: string): boolean {
  const name = stringAt(fn.props, "name");
  const service = stringAt(fn.props, "serviceConfig", "service");
  const short = lastSegment(ref);
  return (typeof name === "string" && short === name) || (typeof service === "string" && (ref === service || short === lastSegment(service)));
}

/** A URL that reaches the function: its Cloud Run URI or its cloudfunctions.net URL (with any path). */
export function functionEndpointMatches(fn: PolicyResource, endpoint: string): boolean {
  const urls = [stringAt(fn.props, "serviceConfig", "uri"), stringAt(fn.props, "url")].filter((u): u is string => typeof u === "string");
  return urls.some((u) => {
    const base = u.replace(/\/+$/, "");
    return endpoint === base || endpoint.startsWith(`${base}/`) || endpoint.startsWith(`${base}?`);
  });
}

/** The function a push subscription delivers to (by endpoint, or by dependency during a preview). */
export function pushTargets(subscription: PolicyResource, functions: readonly PolicyResource[], type: string): PolicyResource[] {
  const endpoint = stringAt(subscription.props, "pushConfig", "pushEndpoint");
  return resolveReference(subscription, "pushConfig", endpoint, functions, type, functionEndpointMatches);
}

/** Whether a subscription pushes (has a push config); pull subscriptions have none. */
export function isPushSubscription(props: unknown): boolean {
  const config = at(props, "pushConfig");
  return config !== undefined && config !== null;
}

/** A short, readable name for messages: the physical name when known, else the logical one. */
export function describe(r: PolicyResource): string {
  const name = stringAt(r.props, "name");
  return typeof name === "string" ? `${r.name} (${name})` : r.name;
}

// Fixtures for the policy tests: the real program's resources for a stack (captured once per stack
// and mode, then cloned), and edits that mutate one property of one resource.
import type { Policies, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { RESOURCE_TYPES } from "../../functions/core/resource-types.ts";
import { captureStack } from "../../tools/plan/policy-capture.ts";
import type { CapturedStack, RegisteredResource } from "../../tools/plan/policy-capture.ts";
import { runPolicies, stackPolicyConfig } from "../../tools/plan/policy-runner.ts";
import type { Violation } from "../../tools/plan/policy-runner.ts";

export const STACKS = ["dev", "staging", "prod"] as const;
export type Mode = "known" | "preview";
export const MODES: readonly Mode[] = ["known", "preview"];

const cache = new Map<string, Promise<CapturedStack>>();

/** The stack's resources as the program declares them (a fresh copy each call). */
export async function planned(stack: string, mode: Mode = "known"): Promise<RegisteredResource[]> {
  const key = `${stack}/${mode}`;
  let captured = cache.get(key);
  if (captured === undefined) {
    captured = captureStack(stack, { preview: mode === "preview" });
    cache.set(key, captured);
  }
  return (await captured).resources.map(cloneResource);
}

/** Deep copy of plain data; other objects (assets) are shared, they are never edited. */
function clonePlain<V>(value: V): V {
  if (Array.isArray(value)) return value.map(clonePlain) as V;
  if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, clonePlain(v)])) as V;
  }
  return value;
}

export function cloneResource(r: RegisteredResource): RegisteredResource {
  return clonePlain(r);
}

export async function environmentOf(stack: string): Promise<string | undefined> {
  const captured = cache.get(`${stack}/known`) ?? captureStack(stack);
  return (await captured).environment;
}

/** Run some policies over resources, with the policy config a stack would get. */
export function check(policy: ResourceValidationPolicy | StackValidationPolicy | Policies, resources: readonly RegisteredResource[], environment?: string): Promise<Violation[]> {
  const policies = Array.isArray(policy) ? policy : [policy];
  return runPolicies(resources, policies, { config: stackPolicyConfig(environment, policies) });
}

export function ofType(resources: readonly RegisteredResource[], type: string): RegisteredResource[] {
  return resources.filter((r) => r.type === type);
}

/** The one resource of `type` whose logical name contains `nameIncludes` (the first if several). */
export function find(resources: readonly RegisteredResource[], type: string, nameIncludes = ""): RegisteredResource {
  const r = resources.find((x) => x.type === type && x.name.includes(nameIncludes));
  if (r === undefined) throw new Error(`fixture has no ${type} named like ${JSON.stringify(nameIncludes)}`);
  return r;
}

type Props = Record<string, unknown>;

/** Edit a resource's inputs and outputs alike (both views of the same declaration). */
export function edit(r: RegisteredResource, change: (props: Props) => void): RegisteredResource {
  change(r.inputs);
  change(r.outputs);
  return r;
}

/** Remove resources, and every reference to them in the others' dependencies. */
export function without(resources: readonly RegisteredResource[], drop: (r: RegisteredResource) => boolean): RegisteredResource[] {
  const gone = new Set(resources.filter(drop).map((r) => r.urn));
  if (gone.size === 0) throw new Error("without(): nothing matched");
  return resources
    .filter((r) => !gone.has(r.urn))
    .map((r) => ({
      ...r,
      dependencies: r.dependencies.filter((u) => !gone.has(u)),
      propertyDependencies: Object.fromEntries(Object.entries(r.propertyDependencies).map(([k, v]) => [k, v.filter((u) => !gone.has(u))])),
    }));
}

/** A nested object property, created on the way. */
export function obj(props: Props, ...path: string[]): Props {
  let cur = props;
  for (const key of path) {
    if (cur[key] === null || typeof cur[key] !== "object") cur[key] = {};
    cur = cur[key] as Props;
  }
  return cur;
}

/** Resource type tokens (functions/core/resource-types.ts). */
export const T = RESOURCE_TYPES;

/** Violations of one policy about one resource. */
export const about = (violations: readonly Violation[], urn: string): Violation[] => violations.filter((v) => v.resource === urn);

/** A unique resource derived from another: new URN and name, same type. */
export function copyOf(r: RegisteredResource, suffix: string): RegisteredResource {
  const c = cloneResource(r);
  c.urn = `${r.urn}-${suffix}`;
  c.name = `${r.name}-${suffix}`;
  return c;
}

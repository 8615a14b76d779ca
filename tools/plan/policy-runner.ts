// Runs the policy pack offline over captured resources, the way the policy server does it:
// every resource policy's validateResource over each resource's inputs, every stack policy's
// validateStack over all resources' outputs (linked by parent, dependencies and property
// dependencies), values behind the SDK's unknown-checking proxy, and each policy at its
// enforcement level (config override, else its own, else the pack's default "advisory").
import { createRequire } from "node:module";
import type {
  EnforcementLevel,
  Policies,
  PolicyResource,
  PolicyResourceOptions,
  ResourceValidation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import { RESOURCE_TYPES } from "../../functions/core/resource-types.ts";
import { POLICIES } from "../../policies/policies.ts";
import { captureStack } from "./policy-capture.ts";
import type { CaptureOptions, RegisteredResource } from "./policy-capture.ts";

export type ViolationLevel = "mandatory" | "advisory";

export interface Violation {
  policy: string;
  level: ViolationLevel;
  /** URN of the resource the violation is about (the stack's for a stack-wide one). */
  resource: string;
  message: string;
}

export interface RunOptions {
  /** Per-policy config, as `--policy-pack-config` gives it ({ "<policy>": { enforcementLevel?, ... } }). */
  config?: Record<string, Record<string, unknown>>;
}

const requireHere = createRequire(import.meta.url);
const proxy = requireHere("@pulumi/policy/proxy.js") as {
  unknownCheckingProxy<T extends object>(value: T): T;
  UnknownValueError: new (...args: never[]) => Error;
};

class NotApplicable extends Error {}
const notApplicable = (reason?: string): never => {
  throw new NotApplicable(reason);
};

function isTypeOf(type: string, resourceClass: unknown): boolean {
  const cls = resourceClass as { __pulumiType?: string; isInstance?: (o: unknown) => boolean };
  if (typeof cls.__pulumiType === "string") return cls.__pulumiType === type;
  return typeof cls.isInstance === "function" && cls.isInstance({ __pulumiType: type }) === true;
}

function optionsOf(r: RegisteredResource): PolicyResourceOptions {
  return {
    protect: r.protect,
    ignoreChanges: [],
    aliases: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: [],
    ...(r.parent === undefined ? {} : { parent: r.parent }),
  };
}

/** PolicyResources for validateStack: outputs behind the proxy, parents and dependencies linked. */
export function toPolicyResources(resources: readonly RegisteredResource[]): PolicyResource[] {
  const byUrn = new Map<string, PolicyResource>();
  const built = resources.map((r) => {
    const props = proxy.unknownCheckingProxy(r.outputs);
    const resource: PolicyResource = {
      type: r.type,
      props,
      urn: r.urn,
      name: r.name,
      opts: optionsOf(r),
      dependencies: [],
      propertyDependencies: {},
      isType: (cls) => isTypeOf(r.type, cls),
      asType: ((cls: unknown) => (isTypeOf(r.type, cls) ? props : undefined)) as PolicyResource["asType"],
    };
    byUrn.set(r.urn, resource);
    return resource;
  });
  const resolve = (urns: readonly string[]): PolicyResource[] => urns.map((u) => byUrn.get(u)).filter((x): x is PolicyResource => x !== undefined);
  resources.forEach((r, i) => {
    const resource = built[i]!;
    if (r.parent !== undefined) {
      const parent = byUrn.get(r.parent);
      if (parent !== undefined) resource.parent = parent;
    }
    resource.dependencies = resolve(r.dependencies);
    for (const [key, urns] of Object.entries(r.propertyDependencies)) resource.propertyDependencies[key] = resolve(urns);
  });
  return built;
}

function levelOf(policy: { name: string; enforcementLevel?: EnforcementLevel }, options: RunOptions): EnforcementLevel {
  const configured = options.config?.[policy.name]?.enforcementLevel as EnforcementLevel | undefined;
  return configured ?? policy.enforcementLevel ?? "advisory";
}

function configOf(policyName: string, options: RunOptions): Record<string, unknown> {
  const { enforcementLevel: _level, ...rest } = options.config?.[policyName] ?? {};
  return rest;
}

const isStackPolicy = (p: ResourceValidationPolicy | StackValidationPolicy): p is StackValidationPolicy =>
  typeof (p as StackValidationPolicy).validateStack === "function";

/** Runs `body`, turning the SDK's "unknown during preview" into the advisory finding the server reports. */
async function guarded(policyName: string, onUnknown: (message: string) => void, body: () => unknown): Promise<void> {
  try {
    await body();
  } catch (error) {
    if (error instanceof proxy.UnknownValueError) {
      onUnknown(`can't run policy '${policyName}' during preview: ${error.message}`);
      return;
    }
    if (error instanceof NotApplicable) return;
    throw new Error(`policy ${policyName} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

export async function runPolicies(resources: readonly RegisteredResource[], policies: Policies = POLICIES, options: RunOptions = {}): Promise<Violation[]> {
  const violations: Violation[] = [];
  const stackUrn = resources.find((r) => r.type === RESOURCE_TYPES.stack)?.urn ?? "";
  const stackResources = toPolicyResources(resources);

  for (const policy of policies) {
    const configured = levelOf(policy, options);
    if (configured === "disabled") continue;
    // As in the server: a remediation policy that still finds a violation reports it as mandatory.
    const level: ViolationLevel = configured === "advisory" ? "advisory" : "mandatory";
    const getConfig = <T extends object>(): T => configOf(policy.name, options) as T;
    const advisory = (resource: string) => (message: string) => violations.push({ policy: policy.name, level: "advisory", resource, message });

    if (isStackPolicy(policy)) {
      const args: StackValidationArgs = { resources: stackResources, stackTags: new Map(), getConfig, notApplicable };
      await guarded(policy.name, advisory(stackUrn), () =>
        policy.validateStack(args, (message, urn) => violations.push({ policy: policy.name, level, resource: urn ?? stackUrn, message })),
      );
      continue;
    }
    const validations: ResourceValidation[] = policy.validateResource === undefined ? [] : [policy.validateResource].flat();
    for (const r of resources) {
      for (const validate of validations) {
        const props = proxy.unknownCheckingProxy(r.inputs);
        const args: ResourceValidationArgs = {
          type: r.type,
          props,
          urn: r.urn,
          name: r.name,
          opts: optionsOf(r),
          stackTags: new Map(),
          isType: (cls) => isTypeOf(r.type, cls),
          asType: ((cls: unknown) => (isTypeOf(r.type, cls) ? props : undefined)) as ResourceValidationArgs["asType"],
          getConfig,
          notApplicable,
        };
        await guarded(policy.name, advisory(r.urn), () =>
          validate(args, (message, urn) => violations.push({ policy: policy.name, level, resource: urn ?? r.urn, message })),
        );
      }
    }
  }
  return violations;
}

/** Policy config for a stack: its environment, for every policy that reads one. */
export function stackPolicyConfig(environment: string | undefined, policies: Policies = POLICIES): Record<string, Record<string, unknown>> {
  if (environment === undefined) return {};
  const config: Record<string, Record<string, unknown>> = {};
  for (const p of policies) if (p.configSchema?.properties.environment !== undefined) config[p.name] = { environment };
  return config;
}

/** Evaluates a stack's program offline and runs the pack over it. */
export async function stackViolations(stack: string, options: CaptureOptions = {}): Promise<Violation[]> {
  const captured = await captureStack(stack, options);
  return runPolicies(captured.resources, POLICIES, { config: stackPolicyConfig(captured.environment) });
}

/** The part of a URN after its last "::": the resource's logical name. */
const logicalName = (urn: string): string => urn.slice(urn.lastIndexOf("::") + 2) || urn;

/** Human-readable violations: one line each, mandatory first. */
export function renderViolations(violations: readonly Violation[]): string {
  const sorted = [...violations].sort((a, b) => (a.level === b.level ? 0 : a.level === "mandatory" ? -1 : 1));
  const mandatory = violations.filter((v) => v.level === "mandatory").length;
  const lines = [`policy violations: ${mandatory} mandatory, ${violations.length - mandatory} advisory`];
  for (const v of sorted) lines.push(`${v.level.padEnd(9)}  ${v.policy}  ${logicalName(v.resource)}: ${v.message}`);
  return lines.join("\n") + "\n";
}

export const hasMandatoryViolation = (violations: readonly Violation[]): boolean => violations.some((v) => v.level === "mandatory");

/** The plan's --json document with the violations added: {..., "violations": [{"policy", "level", "resource", "message"}]}. */
export function jsonWithViolations(planJsonText: string, violations: readonly Violation[]): string {
  const doc = JSON.parse(planJsonText) as Record<string, unknown>;
  return JSON.stringify({ ...doc, violations: violations.map(({ policy, level, resource, message }) => ({ policy, level, resource, message })) });
}

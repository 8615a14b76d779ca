// Reads the IAM grants the evaluated program declares for one function's runtime account, as
// (role, scope) pairs of the permission contract (functions/core/permissions.ts). A binding on a
// resource the contract has no scope for comes back with an "unrecognised" scope, so audits fail on it.
import type { PlanResult } from "../../tools/plan/evaluate.ts";
import type { StackConfig } from "../../infra/stack-config.ts";
import { PREDEFINED_ROLES, type RoleGrant } from "../../infra/function-grants.ts";
import type { IamGrant } from "../harness/iam-proxy.ts";
import type { FunctionSpec } from "../../infra/function-registry.ts";
import { T, one } from "./helpers.ts";

const obj = (v: unknown): Record<string, unknown> => (v ?? {}) as Record<string, unknown>;

export const SLACK_SECRET_ID = "slack-webhook-url";

export interface PlannedGrant extends RoleGrant {
  /** The declared binding (type and logical name), for messages. */
  binding: string;
}

/** The member string of the function's runtime account in the plan. */
export function runtimeMember(plan: PlanResult, spec: Pick<FunctionSpec, "name">): string {
  const fn = one(plan, T.function, (i) => i.name === spec.name, spec.name);
  return `serviceAccount:${String(obj(fn.inputs.serviceConfig).serviceAccountEmail)}`;
}

/** Every binding the plan grants to the function's runtime account. */
export function plannedGrants(plan: PlanResult, config: StackConfig, spec: Pick<FunctionSpec, "name">): PlannedGrant[] {
  const member = runtimeMember(plan, spec);
  return plan.resources
    .filter((r) => r.inputs.member === member || (Array.isArray(r.inputs.members) && r.inputs.members.includes(member)))
    .map((r): PlannedGrant => {
      const role = String(r.inputs.role);
      const binding = `${r.type} ${r.name}`;
      const unrecognised = { kind: "topic" as const, topic: `<unrecognised ${binding}>` };
      switch (r.type) {
        case T.projectIamMember:
          return { role, binding, scope: r.inputs.project === config.project ? { kind: "project" } : unrecognised };
        case T.datasetIamMember:
          return { role, binding, scope: r.inputs.datasetId === config.bigquery.datasetId ? { kind: "dataset" } : unrecognised };
        case T.topicIamMember:
          return { role, binding, scope: { kind: "topic", topic: String(r.inputs.topic) } };
        case T.secretIamMember:
          return { role, binding, scope: r.inputs.secretId === `projects/${config.project}/secrets/${SLACK_SECRET_ID}` ? { kind: "secret" } : unrecognised };
        default:
          return { role, binding, scope: unrecognised };
      }
    });
}

/**
 * The Pub/Sub part of grants, as IAM-proxy grants (test/harness/iam-proxy.ts) in `project`: each
 * role's permissions on its topic, or on the whole project. Roles not in the table hold nothing.
 */
export function pubsubProxyGrants(grants: readonly RoleGrant[], project: string): IamGrant[] {
  return grants.flatMap((g): IamGrant[] => {
    const permissions = PREDEFINED_ROLES[g.role]?.permissions ?? [];
    if (g.scope.kind === "topic") return [{ resource: `projects/${project}/topics/${g.scope.topic}`, permissions }];
    if (g.scope.kind === "project") return [{ resource: `projects/${project}`, permissions }];
    return [];
  });
}

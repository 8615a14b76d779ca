// A Google service agent (service-<project number>@gcp-sa-<service>.iam.gserviceaccount.com) exists
// only once its API has generated it. A member string built from the project number names it before
// that, and IAM rejects a grant to an account that does not exist: the first `pulumi up` on a fresh
// project fails. The member must come from a gcp.projects.ServiceIdentity (its `member` or `email`),
// which creates the agent and orders the grant after it.
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { at, elementsOf, stringAt, UNKNOWN } from "../lib/props.ts";
import { describe } from "../lib/stack-graph.ts";
import { T } from "../lib/types.ts";

export const SERVICE_IDENTITY = T.serviceIdentity;

/** A member (or bare email) naming a Google-managed service agent of the gcp-sa-* kind. */
const AGENT = /^(?:serviceAccount:)?(service-\d+@gcp-sa-[a-z0-9-]+\.iam\.gserviceaccount\.com)$/i;

/** Known member strings read from an IAM resource, each with the property it was read from. */
function membersOf(r: PolicyResource): { prop: string; member: string }[] {
  const out: { prop: string; member: string }[] = [];
  const add = (prop: string, v: unknown) => {
    if (typeof v === "string") out.push({ prop, member: v });
  };
  add("member", at(r.props, "member"));
  for (const m of elementsOf(at(r.props, "members"))) add("members", m);
  const policyData = stringAt(r.props, "policyData");
  if (typeof policyData === "string" && policyData !== "") {
    const doc = JSON.parse(policyData) as { bindings?: { members?: unknown[] }[] };
    for (const b of doc.bindings ?? []) for (const m of b.members ?? []) add("policyData", m);
  }
  return out;
}

/** Whether the property was computed from a ServiceIdentity of that agent (an unknown email counts). */
function fromIdentity(r: PolicyResource, prop: string, email: string): boolean {
  const deps = Object.prototype.hasOwnProperty.call(r.propertyDependencies, prop) ? r.propertyDependencies[prop] : undefined;
  return (deps ?? []).some((d) => {
    if (d.type !== SERVICE_IDENTITY) return false;
    const identityEmail = stringAt(d.props, "email");
    return identityEmail === UNKNOWN || (typeof identityEmail === "string" && identityEmail.toLowerCase() === email.toLowerCase());
  });
}

export const serviceAgentMemberFromIdentity: StackValidationPolicy = {
  name: "service-agent-member-from-identity",
  description:
    "Every IAM member naming a Google service agent (service-<project number>@gcp-sa-...) is computed from a gcp.projects.ServiceIdentity of that agent, never built by hand: on a fresh project the agent does not exist until its identity is generated, and the grant fails.",
  remediationSteps:
    'Declare gcp.projects.ServiceIdentity { service: "<api>.googleapis.com" } (infra/components/service-agents.ts) and pass its `member` output instead of a "serviceAccount:service-${number}@gcp-sa-..." string.',
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    for (const r of args.resources) {
      if (!/iam/i.test(r.type)) continue;
      for (const { prop, member } of membersOf(r)) {
        const m = AGENT.exec(member);
        if (m === null || fromIdentity(r, prop, m[1]!)) continue;
        report(`${describe(r)} grants to the service agent ${member} by a hand-built name; take it from a gcp.projects.ServiceIdentity (its member output), which creates the agent first`, r.urn);
      }
    }
  },
};

// Functions are invoked through IAM only: a public binding lets anyone on the internet call an
// orchestrator (and publish triggers through it).
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { forTypes } from "../lib/define.ts";
import { at, elementsOf, stringAt, UNKNOWN } from "../lib/props.ts";
import { FUNCTION_IAM_TYPES, T } from "../lib/types.ts";

const PUBLIC_MEMBERS = new Set(["allusers", "allauthenticatedusers"]);
const isPublic = (member: unknown): member is string => typeof member === "string" && PUBLIC_MEMBERS.has(member.trim().toLowerCase());

/** Public members granted by an IAM policy document (policyData JSON). */
export function publicMembersInPolicyData(policyData: string): { role: string; member: string }[] {
  const doc = JSON.parse(policyData) as { bindings?: { role?: string; members?: string[] }[] };
  return (doc.bindings ?? []).flatMap((b) => (b.members ?? []).filter(isPublic).map((member) => ({ role: b.role ?? "(no role)", member })));
}

export const functionPublicInvoker: ResourceValidationPolicy = {
  name: "function-public-invoker",
  description: "No function or its Cloud Run service grants anything to allUsers or allAuthenticatedUsers: invocation is IAM-only.",
  remediationSteps: "Remove the allUsers/allAuthenticatedUsers binding; grant roles/run.invoker on the service to the push subscription's service account (and the Monitoring service agent for uptime checks) instead.",
  enforcementLevel: "mandatory",
  validateResource: [
    forTypes([...FUNCTION_IAM_TYPES], (props, args, report) => {
      const role = stringAt(props, "role") ?? "(role from policy data)";
      const members = [at(props, "member"), ...elementsOf(at(props, "members"))];
      for (const m of members) if (isPublic(m)) report(`${args.type} grants ${String(role)} to ${m}: the function would be callable by anyone`);
      const policyData = stringAt(props, "policyData");
      if (typeof policyData === "string") {
        for (const b of publicMembersInPolicyData(policyData)) report(`IAM policy grants ${b.role} to ${b.member}: the function would be callable by anyone`);
      }
    }),
    // A project-wide invoker grant to the public covers every function of the project.
    forTypes([T.projectIamMember, T.projectIamBinding], (props, _args, report) => {
      const role = stringAt(props, "role");
      if (role === UNKNOWN || (role !== "roles/run.invoker" && role !== "roles/run.servicesInvoker" && role !== "roles/cloudfunctions.invoker")) return;
      for (const m of [at(props, "member"), ...elementsOf(at(props, "members"))]) {
        if (isPublic(m)) report(`project grants ${role} to ${m}: every function of the project would be callable by anyone`);
      }
    }),
  ],
};

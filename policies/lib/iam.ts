// Reading IAM resources of any kind (…IamMember, …IamBinding, …IamPolicy) unknown-safely: whether one
// grants a role that passes `roleMatches` to a member that passes `memberMatches`. An unknown role
// counts as matching (a preview cannot show it wrong); what an unknown member means is the caller's
// to say (`memberMatches` receives UNKNOWN and the property it was read from).
import type { PolicyResource } from "@pulumi/policy";
import { at, elementsOf, isUnknown, stringAt, UNKNOWN } from "./props.ts";
import type { Unknown } from "./props.ts";

/** Whether `member` (a known IAM member string, or UNKNOWN) read from `prop` of `binding` is the one sought. */
export type MemberMatches = (binding: PolicyResource, prop: string, member: string | Unknown) => boolean;

const roleOk = (role: unknown, roleMatches: (role: string) => boolean): boolean => isUnknown(role) || (typeof role === "string" && roleMatches(role));

/** A member value as read: UNKNOWN, a string, or undefined for anything else. */
const memberValue = (m: unknown): string | Unknown | undefined => (isUnknown(m) ? UNKNOWN : typeof m === "string" ? m : undefined);

function anyMember(binding: PolicyResource, prop: string, values: readonly unknown[], memberMatches: MemberMatches): boolean {
  return values.some((m) => {
    const v = memberValue(m);
    return v !== undefined && memberMatches(binding, prop, v);
  });
}

/** Whether the IAM resource grants a matching role to a matching member. */
export function bindingGrants(binding: PolicyResource, roleMatches: (role: string) => boolean, memberMatches: MemberMatches): boolean {
  const policyData = stringAt(binding.props, "policyData");
  if (policyData === UNKNOWN) return memberMatches(binding, "policyData", UNKNOWN);
  if (typeof policyData === "string") {
    const doc = JSON.parse(policyData) as { bindings?: { role?: string; members?: string[] }[] };
    return (doc.bindings ?? []).some((b) => roleOk(b.role, roleMatches) && anyMember(binding, "policyData", b.members ?? [], memberMatches));
  }
  if (!roleOk(at(binding.props, "role"), roleMatches)) return false;
  const member = at(binding.props, "member");
  if (member !== undefined) return anyMember(binding, "member", [member], memberMatches);
  const members = at(binding.props, "members");
  if (members === UNKNOWN) return memberMatches(binding, "members", UNKNOWN);
  return anyMember(binding, "members", elementsOf(members), memberMatches);
}

// Least privilege: each function runs as a service account of its own. Without one it runs as the
// default compute account (Editor on the project in most projects), and a shared account gives every
// function the union of the others' permissions.
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { stringAt, UNKNOWN } from "../lib/props.ts";
import { accountMatches, describe, ofType, resolveReference } from "../lib/stack-graph.ts";
import { T } from "../lib/types.ts";

/** Google-managed default identities a workload must not run as. */
export function isDefaultServiceAccount(email: string): boolean {
  return /^\d+-compute@developer\.gserviceaccount\.com$/i.test(email) || /@appspot\.gserviceaccount\.com$/i.test(email);
}

export const functionServiceAccount: StackValidationPolicy = {
  name: "function-service-account",
  description: "Every function runs as its own service account: set explicitly, never a default compute or App Engine account, and not shared with another function.",
  remediationSteps: "Declare a gcp.serviceaccount.Account per function and set serviceConfig.serviceAccountEmail to its email (infra/components/pipeline-function.ts), granting it only the roles that function needs.",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    const accounts = ofType(args.resources, T.account);
    const functions = ofType(args.resources, T.function);
    // Identity of each function: the declared account (by email or dependency), else the literal email.
    const identities = new Map<string, PolicyResource[]>();
    for (const fn of functions) {
      const email = stringAt(fn.props, "serviceConfig", "serviceAccountEmail");
      if (email === undefined) {
        report(`${describe(fn)} sets no serviceConfig.serviceAccountEmail, so it runs as the default compute service account`, fn.urn);
        continue;
      }
      if (email !== UNKNOWN && isDefaultServiceAccount(email)) {
        report(`${describe(fn)} runs as the default service account ${email}`, fn.urn);
        continue;
      }
      const declared = resolveReference(fn, "serviceConfig", email, accounts, T.account, accountMatches);
      const keys = declared.length === 1 ? [declared[0]!.urn] : email === UNKNOWN ? [] : [`email:${email.toLowerCase()}`];
      for (const key of keys) identities.set(key, [...(identities.get(key) ?? []), fn]);
    }
    for (const [key, sharing] of identities) {
      if (sharing.length < 2) continue;
      const who = key.startsWith("email:") ? key.slice("email:".length) : (accounts.find((a) => a.urn === key)?.name ?? key);
      for (const fn of sharing) {
        const others = sharing.filter((o) => o !== fn).map(describe).join(", ");
        report(`${describe(fn)} shares its service account ${who} with ${others}: each function needs its own`, fn.urn);
      }
    }
  },
};

// A function's IAM grants, derived from its permission contract (functions/core/permissions.ts): for
// each scope, the smallest predefined roles of the table below that together include every permission
// needed there. Pure (no Pulumi): the component declares what this returns, the tests audit it.
import {
  permissionNeeds,
  scopeKey,
  type FunctionPermissionProfile,
  type PermissionNeed,
  type PermissionScope,
  type ScopeKind,
} from "../functions/core/permissions.ts";
import type { FunctionSpec } from "./function-registry.ts";

export interface PredefinedRole {
  /** The permissions the role includes, as its documentation page lists them. */
  permissions: readonly string[];
  /** Scopes it may be granted on here (the role's lowest-level resources, and the project). */
  grantableOn: readonly ScopeKind[];
  source: string;
}

/**
 * The predefined roles this project grants to function accounts. Only these are ever chosen; a role
 * that is not here (a basic role such as roles/editor included) fails the audit in the tests.
 */
export const PREDEFINED_ROLES: Readonly<Record<string, PredefinedRole>> = {
  "roles/pubsub.publisher": {
    permissions: ["pubsub.topics.publish"],
    grantableOn: ["topic", "project"],
    source: "https://cloud.google.com/iam/docs/understanding-roles#pubsub.publisher",
  },
  "roles/secretmanager.secretAccessor": {
    permissions: ["resourcemanager.projects.get", "resourcemanager.projects.list", "secretmanager.versions.access"],
    grantableOn: ["secret", "project"],
    source: "https://cloud.google.com/iam/docs/understanding-roles#secretmanager.secretAccessor",
  },
  // Firestore has no finer predefined role with write access; it is granted on the project.
  "roles/datastore.user": {
    permissions: [
      "appengine.applications.get",
      "datastore.databases.get",
      "datastore.databases.getMetadata",
      "datastore.databases.list",
      "datastore.entities.allocateIds",
      "datastore.entities.create",
      "datastore.entities.delete",
      "datastore.entities.get",
      "datastore.entities.list",
      "datastore.entities.update",
      "datastore.indexes.list",
      "datastore.namespaces.get",
      "datastore.namespaces.list",
      "datastore.statistics.get",
      "datastore.statistics.list",
      "resourcemanager.projects.get",
      "resourcemanager.projects.list",
    ],
    grantableOn: ["project"],
    source: "https://cloud.google.com/iam/docs/understanding-roles#datastore.user",
  },
  // Jobs are created in (and billed to) the project: there is no dataset-level job role.
  "roles/bigquery.jobUser": {
    permissions: [
      "bigquery.config.get",
      "bigquery.jobs.create",
      "dataform.locations.get",
      "dataform.locations.list",
      "dataform.repositories.create",
      "dataform.repositories.list",
      "resourcemanager.projects.get",
      "resourcemanager.projects.list",
    ],
    grantableOn: ["project"],
    source: "https://cloud.google.com/iam/docs/understanding-roles#bigquery.jobUser",
  },
  // The smallest predefined role with bigquery.tables.updateData (insertAll, DML); on the dataset only.
  "roles/bigquery.dataEditor": {
    permissions: [
      "bigquery.config.get",
      "bigquery.datasets.create",
      "bigquery.datasets.get",
      "bigquery.datasets.getIamPolicy",
      "bigquery.datasets.updateTag",
      "bigquery.models.create",
      "bigquery.models.delete",
      "bigquery.models.export",
      "bigquery.models.getData",
      "bigquery.models.getMetadata",
      "bigquery.models.list",
      "bigquery.models.updateData",
      "bigquery.models.updateMetadata",
      "bigquery.models.updateTag",
      "bigquery.routines.create",
      "bigquery.routines.delete",
      "bigquery.routines.get",
      "bigquery.routines.list",
      "bigquery.routines.update",
      "bigquery.routines.updateTag",
      "bigquery.tables.create",
      "bigquery.tables.createIndex",
      "bigquery.tables.createSnapshot",
      "bigquery.tables.delete",
      "bigquery.tables.deleteIndex",
      "bigquery.tables.export",
      "bigquery.tables.get",
      "bigquery.tables.getData",
      "bigquery.tables.getIamPolicy",
      "bigquery.tables.list",
      "bigquery.tables.restoreSnapshot",
      "bigquery.tables.update",
      "bigquery.tables.updateData",
      "bigquery.tables.updateTag",
      "resourcemanager.projects.get",
      "resourcemanager.projects.list",
    ],
    grantableOn: ["dataset", "project"],
    source: "https://cloud.google.com/iam/docs/understanding-roles#bigquery.dataEditor",
  },
};

/** One role on one scope. */
export interface RoleGrant {
  role: string;
  scope: PermissionScope;
}

/** Which permission contract a deployed function follows. */
export function permissionProfileOf(spec: Pick<FunctionSpec, "kind" | "target" | "name">): FunctionPermissionProfile {
  if (spec.kind === "orchestrator") return "orchestrator";
  // Scheduled functions are told apart by the target their entry registers.
  if (spec.target === "sweep") return "sweeper";
  if (spec.target === "reconcile") return "reconciler";
  throw new Error(`${spec.name}: no permission contract for scheduled target "${spec.target}"; declare one in functions/core/permissions.ts`);
}

export function functionPermissionNeeds(spec: Pick<FunctionSpec, "kind" | "target" | "name" | "publishesTo">): PermissionNeed[] {
  return permissionNeeds(permissionProfileOf(spec), spec.publishesTo);
}

/**
 * The grants covering `needs`: per scope, greedily the role that includes most of the still-uncovered
 * permissions, the one with fewer permissions on a tie. Throws when a permission has no role here.
 */
export function grantsFor(needs: readonly PermissionNeed[], roles: Readonly<Record<string, PredefinedRole>> = PREDEFINED_ROLES): RoleGrant[] {
  const byScope = new Map<string, { scope: PermissionScope; uncovered: Set<string> }>();
  for (const need of needs) {
    const key = scopeKey(need.scope);
    const entry = byScope.get(key) ?? { scope: need.scope, uncovered: new Set<string>() };
    entry.uncovered.add(need.permission);
    byScope.set(key, entry);
  }
  const grants: RoleGrant[] = [];
  for (const { scope, uncovered } of byScope.values()) {
    while (uncovered.size > 0) {
      let best: { role: string; covers: number; size: number } | undefined;
      for (const [role, def] of Object.entries(roles)) {
        if (!def.grantableOn.includes(scope.kind)) continue;
        const covers = def.permissions.filter((p) => uncovered.has(p)).length;
        if (covers === 0) continue;
        if (best === undefined || covers > best.covers || (covers === best.covers && def.permissions.length < best.size)) {
          best = { role, covers, size: def.permissions.length };
        }
      }
      if (best === undefined) {
        throw new Error(`no predefined role in the table grants ${[...uncovered].join(", ")} on ${scopeKey(scope)}`);
      }
      for (const p of roles[best.role]!.permissions) uncovered.delete(p);
      grants.push({ role: best.role, scope });
    }
  }
  return grants;
}

/** The grants of one deployed function. */
export function functionGrants(spec: Pick<FunctionSpec, "kind" | "target" | "name" | "publishesTo">): RoleGrant[] {
  return grantsFor(functionPermissionNeeds(spec));
}

/** Scopes a grant on `scope` reaches: a project grant covers every resource of the project. */
export function covers(grantScope: PermissionScope, needScope: PermissionScope): boolean {
  return grantScope.kind === "project" || scopeKey(grantScope) === scopeKey(needScope);
}

/** Permissions held on each scope key through `grants` (unknown roles hold nothing). */
export function heldPermissions(grants: readonly RoleGrant[], roles: Readonly<Record<string, PredefinedRole>> = PREDEFINED_ROLES): Map<string, Set<string>> {
  const held = new Map<string, Set<string>>();
  for (const g of grants) {
    const set = held.get(scopeKey(g.scope)) ?? new Set<string>();
    for (const p of roles[g.role]?.permissions ?? []) set.add(p);
    held.set(scopeKey(g.scope), set);
  }
  return held;
}

export interface GrantAudit {
  /** Needed permissions no grant supplies at a scope covering the need: "<scope>|<permission>". */
  missing: string[];
  /** Roles granted that are not in the table (so their permissions are unknown here). */
  unknownRoles: string[];
  /** Per grant "<role>@<scope>", the permissions it includes that nothing needs at that scope. */
  surplus: Record<string, string[]>;
  /** Grants that supply no needed permission at all. */
  useless: string[];
}

/** Compares grants with needs: what is missing, what is granted beyond need. */
export function auditGrants(needs: readonly PermissionNeed[], grants: readonly RoleGrant[], roles: Readonly<Record<string, PredefinedRole>> = PREDEFINED_ROLES): GrantAudit {
  const missing = needs
    .filter((n) => !grants.some((g) => covers(g.scope, n.scope) && (roles[g.role]?.permissions ?? []).includes(n.permission)))
    .map((n) => `${scopeKey(n.scope)}|${n.permission}`);
  const unknownRoles = [...new Set(grants.filter((g) => roles[g.role] === undefined).map((g) => g.role))];
  const surplus: Record<string, string[]> = {};
  const useless: string[] = [];
  for (const g of grants) {
    const def = roles[g.role];
    if (def === undefined) continue;
    const neededHere = new Set(needs.filter((n) => covers(g.scope, n.scope)).map((n) => n.permission));
    const key = `${g.role}@${scopeKey(g.scope)}`;
    surplus[key] = def.permissions.filter((p) => !neededHere.has(p));
    if (def.permissions.every((p) => !neededHere.has(p))) useless.push(key);
  }
  return { missing, unknownRoles, surplus, useless };
}

const kebab = (s: string) => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/**
 * The logical-name suffix of a grant's binding. Kept equal to the names the bindings had before they
 * were derived ("datastore-user", "bq-data-editor", "publisher-<topic>", "slack-secret-accessor"), so a
 * preview does not replace them.
 */
export function grantResourceSuffix(grant: RoleGrant): string {
  const [service, name] = grant.role.replace(/^roles\//, "").split(".") as [string, string];
  switch (grant.scope.kind) {
    case "project":
      return `${service}-${name}`;
    case "dataset":
      return `bq-${kebab(name)}`;
    case "topic":
      return `${kebab(name)}-${grant.scope.topic}`;
    case "secret":
      return `slack-${kebab(name)}`;
  }
}

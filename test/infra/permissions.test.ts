// The permission contract and the grants derived from it: every permission a function needs (its
// work and its /health) is granted by a role on a scope covering it, and no role grants much more.
//
// "Much more", concretely, for every granted role:
//   - it is a predefined role of the table in infra/function-grants.ts (a basic role such as
//     roles/editor, or any role whose permissions are not listed there, fails);
//   - it supplies at least one permission needed on exactly its scope (a narrower scope holding
//     everything it supplies would do), and is granted once;
//   - every permission it includes beyond the needed ones is of a service the function needs on that
//     scope, or resourcemanager.projects.get/list (project lookup, in most predefined roles), or one
//     of the pinned cross-service extras below;
//   - the number of such surplus permissions is at most the pinned count for that role.
import assert from "node:assert/strict";
import { permissionNeeds, PUBSUB_PUBLISH, scopeKey, type FunctionPermissionProfile, type PermissionNeed } from "../../functions/core/permissions.ts";
import {
  auditGrants,
  functionGrants,
  functionPermissionNeeds,
  grantResourceSuffix,
  grantsFor,
  PREDEFINED_ROLES,
  type RoleGrant,
} from "../../infra/function-grants.ts";
import { functionRegistry } from "../../infra/function-registry.ts";
import { planOf, stackModel, STACKS } from "./helpers.ts";
import { plannedGrants } from "./planned-grants.ts";

const PROFILES: FunctionPermissionProfile[] = ["orchestrator", "sweeper", "reconciler"];
const TOPICS = ["nba-phase3-analytics-trigger", "nba-phase4-precompute-trigger"];

/** Permissions of another service that a role may carry beyond need (pinned: the role includes them). */
const CROSS_SERVICE_EXTRAS: Record<string, readonly string[]> = {
  "roles/datastore.user": ["appengine.applications.get"],
  "roles/bigquery.jobUser": ["dataform.locations.get", "dataform.locations.list", "dataform.repositories.create", "dataform.repositories.list"],
};
/** The most surplus permissions a role may carry (pinned from the table; a bigger role fails). */
const MAX_SURPLUS: Record<string, number> = {
  "roles/pubsub.publisher": 0,
  "roles/secretmanager.secretAccessor": 2,
  "roles/bigquery.jobUser": 7,
  "roles/datastore.user": 14,
  "roles/bigquery.dataEditor": 33,
};
const BASIC_ROLES = ["roles/owner", "roles/editor", "roles/viewer"];

const service = (permission: string) => permission.split(".")[0]!;

/** Every failure of the least-privilege contract for one function, as readable lines (empty: holds). */
function leastPrivilegeViolations(needs: readonly PermissionNeed[], grants: readonly RoleGrant[]): string[] {
  const audit = auditGrants(needs, grants);
  const violations = [
    ...audit.missing.map((m) => `missing ${m}`),
    ...audit.unknownRoles.map((r) => `role not in the table: ${r}`),
    ...grants.filter((g) => BASIC_ROLES.includes(g.role)).map((g) => `basic role ${g.role}`),
    ...audit.useless.map((u) => `grants nothing needed: ${u}`),
  ];
  const seen = new Set<string>();
  for (const g of grants) {
    const key = `${g.role}@${scopeKey(g.scope)}`;
    if (seen.has(key)) violations.push(`granted twice: ${key}`);
    seen.add(key);
    // Narrowest scope: the role must supply something needed on exactly this scope.
    const neededHere = needs.filter((n) => scopeKey(n.scope) === scopeKey(g.scope)).map((n) => n.permission);
    const def = PREDEFINED_ROLES[g.role];
    if (def !== undefined && !audit.useless.includes(key) && !def.permissions.some((p) => neededHere.includes(p))) violations.push(`wider than needed: ${key}`);
  }
  for (const g of grants) {
    const key = `${g.role}@${scopeKey(g.scope)}`;
    const surplus = audit.surplus[key];
    if (surplus === undefined) continue;
    const neededServices = new Set(needs.filter((n) => g.scope.kind === "project" || scopeKey(n.scope) === scopeKey(g.scope)).map((n) => service(n.permission)));
    const extras = CROSS_SERVICE_EXTRAS[g.role] ?? [];
    const foreign = surplus.filter((p) => !neededServices.has(service(p)) && !p.startsWith("resourcemanager.projects.") && !extras.includes(p));
    if (foreign.length > 0) violations.push(`${key} grants other services: ${foreign.join(", ")}`);
    const max = MAX_SURPLUS[g.role];
    if (max === undefined || surplus.length > max) violations.push(`${key} grants ${surplus.length} permissions beyond need (max ${String(max)})`);
  }
  return violations;
}

describe("permissions: the contract of each function", () => {
  const has = (needs: PermissionNeed[], permission: string, scope: string) => needs.some((n) => n.permission === permission && scopeKey(n.scope) === scope);

  for (const profile of PROFILES) {
    it(`${profile}: /health's checks need only permissions of the contract (Firestore get, dataset get, publish on each topic)`, () => {
      const needs = permissionNeeds(profile, TOPICS);
      assert.ok(has(needs, "datastore.entities.get", "project"));
      assert.ok(has(needs, "bigquery.datasets.get", "dataset"));
      for (const t of TOPICS) assert.ok(has(needs, PUBSUB_PUBLISH, `topic:${t}`));
      assert.ok(!needs.some((n) => n.permission === "pubsub.topics.get"), "topics.get is needed by nothing");
      assert.ok(has(needs, "secretmanager.versions.access", "secret"), "the runtime account mounts the webhook secret");
    });
  }

  it("what differs by kind: only the scheduled jobs query Firestore by range; only the sweeper deletes; every kind runs BigQuery jobs (the aggregate's MERGE)", () => {
    const [orchestrator, sweeper, reconciler] = PROFILES.map((p) => permissionNeeds(p, []));
    assert.ok(!has(orchestrator!, "datastore.entities.list", "project"));
    assert.ok(has(sweeper!, "datastore.entities.list", "project") && has(reconciler!, "datastore.entities.list", "project"));
    assert.ok(has(sweeper!, "datastore.entities.delete", "project"));
    assert.ok(!has(orchestrator!, "datastore.entities.delete", "project") && !has(reconciler!, "datastore.entities.delete", "project"));
    for (const needs of [orchestrator!, sweeper!, reconciler!]) {
      assert.ok(has(needs, "bigquery.jobs.create", "project") && has(needs, "bigquery.tables.getData", "dataset") && has(needs, "bigquery.tables.updateData", "dataset"));
    }
  });

  it("every need names the calls that need it", () => {
    for (const profile of PROFILES) for (const n of permissionNeeds(profile, TOPICS)) assert.ok(n.calls.length > 0, `${profile} ${n.permission}`);
  });
});

describe("permissions: grants derived from the contract", () => {
  for (const profile of PROFILES) {
    it(`${profile}: every need granted, no role beyond its pinned surplus`, () => {
      const needs = permissionNeeds(profile, TOPICS);
      const grants = grantsFor(needs);
      assert.deepEqual(leastPrivilegeViolations(needs, grants), []);
    });
  }

  it("the orchestrator's grants: five roles, each on its narrowest scope, under the binding names they always had", () => {
    const grants = grantsFor(permissionNeeds("orchestrator", [TOPICS[0]!]));
    assert.deepEqual(grants.map((g) => `${g.role}@${scopeKey(g.scope)}`).sort(), [
      "roles/bigquery.dataEditor@dataset",
      "roles/bigquery.jobUser@project",
      "roles/datastore.user@project",
      `roles/pubsub.publisher@topic:${TOPICS[0]!}`,
      "roles/secretmanager.secretAccessor@secret",
    ]);
    assert.deepEqual(grants.map(grantResourceSuffix).sort(), ["bigquery-jobUser", "bq-data-editor", "datastore-user", `publisher-${TOPICS[0]!}`, "slack-secret-accessor"]);
  });

  it("a permission no role of the table holds fails the derivation, naming it", () => {
    const needs: PermissionNeed[] = [{ permission: "pubsub.topics.get", scope: { kind: "topic", topic: "t" }, calls: ["x"] }];
    assert.throws(() => grantsFor(needs), /no predefined role in the table grants pubsub.topics.get on topic:t/);
  });

  it("every role of the table cites its documentation page", () => {
    for (const [role, def] of Object.entries(PREDEFINED_ROLES)) {
      assert.equal(def.source, `https://cloud.google.com/iam/docs/understanding-roles#${role.replace("roles/", "")}`);
    }
  });

  describe("the checks fail on a weakened or widened grant set", () => {
    const needs = permissionNeeds("orchestrator", TOPICS);
    const grants = grantsFor(needs);
    it("a dropped grant (the topic publisher) is missing", () => {
      const dropped = grants.filter((g) => !(g.scope.kind === "topic" && g.scope.topic === TOPICS[1]));
      assert.deepEqual(leastPrivilegeViolations(needs, dropped), [`missing topic:${TOPICS[1]!}|${PUBSUB_PUBLISH}`]);
    });
    it("roles/editor added on the project is refused", () => {
      const violations = leastPrivilegeViolations(needs, [...grants, { role: "roles/editor", scope: { kind: "project" } }]);
      assert.deepEqual(violations, ["role not in the table: roles/editor", "basic role roles/editor"]);
    });
    it("a role widened to the project, or granted twice, is refused", () => {
      const widened = grants.map((g) => (g.role === "roles/bigquery.dataEditor" ? { ...g, scope: { kind: "project" as const } } : g));
      assert.deepEqual(leastPrivilegeViolations(needs, widened), ["wider than needed: roles/bigquery.dataEditor@project"]);
      const twice = [...grants, { role: "roles/bigquery.jobUser", scope: { kind: "project" as const } }];
      assert.deepEqual(leastPrivilegeViolations(needs, twice), ["granted twice: roles/bigquery.jobUser@project"]);
    });
  });
});

describe("permissions: the program's declared grants (every stack)", function () {
  this.timeout(600_000);
  for (const stack of STACKS) {
    it(`${stack}: each function's runtime account holds exactly the derived grants, and they satisfy its contract`, async () => {
      const plan = await planOf(stack);
      const { config, pipeline } = stackModel(stack);
      for (const spec of functionRegistry(pipeline)) {
        const planned = plannedGrants(plan, config, spec);
        const key = (g: RoleGrant) => `${g.role}@${scopeKey(g.scope)}`;
        assert.deepEqual(planned.map(key).sort(), functionGrants(spec).map(key).sort(), `${spec.name}: ${planned.map((g) => g.binding).join(", ")}`);
        assert.deepEqual(leastPrivilegeViolations(functionPermissionNeeds(spec), planned), [], spec.name);
      }
    });
  }
});

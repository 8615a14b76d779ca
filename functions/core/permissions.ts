// The permission contract of each deployed function: beside every runtime dependency it calls, the IAM
// permissions that call needs and the resource they are needed on. Infra derives the function's grants
// from this (infra/function-grants.ts) and /health checks with exactly these permissions, so a health
// check can never need a permission the function is not granted. Pure: no cloud client, no Pulumi.

/** Where a permission is needed. Project-level grants cover every resource of the project. */
export type PermissionScope =
  | { kind: "project" }
  /** The completion dataset (its tables included). */
  | { kind: "dataset" }
  /** One Pub/Sub topic, by its model name. */
  | { kind: "topic"; topic: string }
  /** The Slack webhook secret. */
  | { kind: "secret" };

export type ScopeKind = PermissionScope["kind"];

/** One runtime dependency: what the code calls, and what that call needs where. */
export interface DependencyUse {
  /** The call, as the code makes it. */
  call: string;
  permissions: readonly string[];
  scope: PermissionScope;
}

/** One permission on one scope, with every call that needs it. */
export interface PermissionNeed {
  permission: string;
  scope: PermissionScope;
  calls: string[];
}

export type FunctionPermissionProfile = "orchestrator" | "sweeper" | "reconciler";

/** /health's Pub/Sub check asks IAM for exactly this on each topic the function publishes to. */
export const PUBSUB_PUBLISH = "pubsub.topics.publish";

const project: PermissionScope = { kind: "project" };
const dataset: PermissionScope = { kind: "dataset" };
const secret: PermissionScope = { kind: "secret" };

// Firestore method -> permission: https://cloud.google.com/datastore/docs/access/iam (required permissions).
// A transaction begins and rolls back with datastore.databases.get; set() is an upsert (create + update).
const firestore = {
  transaction: { call: "Firestore runTransaction (begin, commit, rollback)", permissions: ["datastore.databases.get"], scope: project },
  get: { call: "Firestore document get / transaction get (also /health's probe read)", permissions: ["datastore.entities.get"], scope: project },
  query: { call: "Firestore range query (where gameDate between)", permissions: ["datastore.entities.list", "datastore.entities.get"], scope: project },
  upsert: { call: "Firestore set() (upsert)", permissions: ["datastore.entities.create", "datastore.entities.update"], scope: project },
  create: { call: "Firestore create()", permissions: ["datastore.entities.create"], scope: project },
  delete: { call: "Firestore delete()", permissions: ["datastore.entities.delete"], scope: project },
} satisfies Record<string, DependencyUse>;

// BigQuery: https://cloud.google.com/bigquery/docs/reference/rest/v2/tabledata/insertAll (updateData),
// https://cloud.google.com/bigquery/docs/reference/rest/v2/jobs/insert (jobs.create on the project;
// the statement's tables need getData, and a DML statement updateData).
const bigquery = {
  insertAll: { call: "BigQuery tabledata.insertAll (completion and execution-log rows)", permissions: ["bigquery.tables.updateData"], scope: dataset },
  jobCreate: { call: "BigQuery query job (jobs.insert)", permissions: ["bigquery.jobs.create"], scope: project },
  mergeTables: { call: "BigQuery MERGE into phase_completion_status (DML)", permissions: ["bigquery.tables.getData", "bigquery.tables.updateData"], scope: dataset },
  selectTables: { call: "BigQuery SELECT from phase_completions / phase_execution_log", permissions: ["bigquery.tables.getData"], scope: dataset },
  datasetGet: { call: "BigQuery datasets.get (/health)", permissions: ["bigquery.datasets.get"], scope: dataset },
} satisfies Record<string, DependencyUse>;

// Cloud Run mounts the secret as an environment variable at instance start, as the runtime account.
const secretMount: DependencyUse = {
  call: "Secret Manager versions.access (the Slack webhook mounted as an environment variable)",
  permissions: ["secretmanager.versions.access"],
  scope: secret,
};

/** Publishing (and /health's testIamPermissions, which needs no permission of its own) on one topic. */
function publishTo(topic: string): DependencyUse {
  return { call: `Pub/Sub publish to ${topic} (/health: topic testIamPermissions)`, permissions: [PUBSUB_PUBLISH], scope: { kind: "topic", topic } };
}

/** What each kind of function calls (read from functions/lib: orchestrator, sweeper, reconciler). */
const PROFILE_USES: Record<FunctionPermissionProfile, readonly DependencyUse[]> = {
  // completion-tracker.ts (record + latch + mark-published transactions), quarantine.ts (set, unknown
  // processor transaction), bigquery-store.ts (insertAll, MERGE), trigger-publisher.ts, and the
  // execution-log SELECT a republish after the grace period makes first (execution-log-check.ts).
  orchestrator: [firestore.transaction, firestore.get, firestore.upsert, bigquery.insertAll, bigquery.jobCreate, bigquery.selectTables, bigquery.mergeTables, bigquery.datasetGet, secretMount],
  // sweeper.ts: phase-state range read, re-evaluation transactions, outbox claims, stall ledger
  // (create, release = delete); execution-log rows (and the SELECT of them before a republish), and the
  // aggregate's MERGE for a trigger it latches.
  sweeper: [firestore.transaction, firestore.get, firestore.query, firestore.upsert, firestore.create, firestore.delete, bigquery.insertAll, bigquery.jobCreate, bigquery.selectTables, bigquery.mergeTables, bigquery.datasetGet, secretMount],
  // reconciler.ts: range read, repair transactions, outbox claims; SELECTs of completion and
  // execution-log rows, insertAll of repaired rows, the aggregate's MERGE for a latch it makes.
  reconciler: [firestore.transaction, firestore.get, firestore.query, firestore.upsert, bigquery.insertAll, bigquery.jobCreate, bigquery.selectTables, bigquery.mergeTables, bigquery.datasetGet, secretMount],
};

export function scopeKey(scope: PermissionScope): string {
  return scope.kind === "topic" ? `topic:${scope.topic}` : scope.kind;
}

/** The calls of a function of `profile` that publishes to `publishTopics` (model topic names). */
export function dependencyUses(profile: FunctionPermissionProfile, publishTopics: readonly string[]): DependencyUse[] {
  return [...PROFILE_USES[profile], ...publishTopics.map(publishTo)];
}

/** Every permission the function needs, one entry per (permission, scope), sorted, with its calls. */
export function permissionNeeds(profile: FunctionPermissionProfile, publishTopics: readonly string[]): PermissionNeed[] {
  const byKey = new Map<string, PermissionNeed>();
  for (const use of dependencyUses(profile, publishTopics)) {
    for (const permission of use.permissions) {
      const key = `${scopeKey(use.scope)}|${permission}`;
      const need = byKey.get(key) ?? { permission, scope: use.scope, calls: [] };
      if (!need.calls.includes(use.call)) need.calls.push(use.call);
      byKey.set(key, need);
    }
  }
  return [...byKey.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, need]) => need);
}

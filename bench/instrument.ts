// Counts the cloud operations the runtime makes, by instrumentation of the real clients in this
// process, so the orchestrator under measurement is the production wiring (createOrchestratorFromEnv)
// and not a copy with injected wrappers:
// - Firestore: the client's prototypes are wrapped. Reads are counted per document returned (a missing
//   document and an empty query are billed as one read), on every transaction attempt (an aborted
//   attempt's reads are billed too). Writes are counted on commit: only the attempt that committed.
//   Transaction attempts are the update-callback invocations; every attempt beyond the one that
//   committed is a retry (contention or a transient error).
// - Pub/Sub: Topic.publishMessage calls to the topics under measurement (not the bench's own publishes).
// - BigQuery: every request that reached the fake (each attempt is a billed or quota-counted call);
//   DML statements as the fake executed them (committed, after its queue and conflict re-runs), not as
//   requests that carried DML text.
// - Time: milliseconds spent awaiting each kind of call (transactions, publishes, BigQuery inserts and
//   DML), client side, so a sequential handler's time can be split into where it went.
import { DocumentReference, Firestore, Query, Transaction } from "@google-cloud/firestore";
import { Topic } from "@google-cloud/pubsub";
import { BigQuery, Table } from "@google-cloud/bigquery";
import type { BigQueryFake } from "../tools/bigquery-fake/index.ts";

export interface OperationCounts {
  firestoreReads: number;
  firestoreWrites: number;
  /** runTransaction calls that committed. */
  transactionsCommitted: number;
  /** runTransaction calls that failed (after the client's own attempts). */
  transactionsFailed: number;
  /** Update-callback invocations. */
  transactionAttempts: number;
  bigqueryInsertAll: number;
  /** DML statements the fake committed (its own count: a statement refused by a full queue is not one). */
  bigqueryDml: number;
  /** Requests whose SQL was DML (each attempt, whatever its answer). */
  bigqueryDmlRequests: number;
  /** DML statements re-run by the fake after a conflict, and failed on a conflict or a full queue. */
  bigqueryDmlConflictReruns: number;
  bigqueryDmlFailed: number;
  bigqueryQueries: number;
  bigqueryOther: number;
  pubsubPublishes: number;
  /** Client-side time awaiting each kind of call, ms (sums). */
  firestoreTransactionMs: number;
  pubsubPublishMs: number;
  bigqueryInsertMs: number;
  bigqueryDmlMs: number;
}

export const ZERO_COUNTS: OperationCounts = {
  firestoreReads: 0,
  firestoreWrites: 0,
  transactionsCommitted: 0,
  transactionsFailed: 0,
  transactionAttempts: 0,
  bigqueryInsertAll: 0,
  bigqueryDml: 0,
  bigqueryDmlRequests: 0,
  bigqueryDmlConflictReruns: 0,
  bigqueryDmlFailed: 0,
  bigqueryQueries: 0,
  bigqueryOther: 0,
  pubsubPublishes: 0,
  firestoreTransactionMs: 0,
  pubsubPublishMs: 0,
  bigqueryInsertMs: 0,
  bigqueryDmlMs: 0,
};

/** b - a, field by field. */
export function diffCounts(a: OperationCounts, b: OperationCounts): OperationCounts {
  const out = { ...ZERO_COUNTS };
  for (const k of Object.keys(out) as (keyof OperationCounts)[]) out[k] = b[k] - a[k];
  return out;
}

/** Transaction attempts that did not commit: retries caused by contention or transient errors. */
export function transactionRetries(c: OperationCounts): number {
  return c.transactionAttempts - c.transactionsCommitted;
}

export interface Instrumentation {
  snapshot(): OperationCounts;
  /** Count publishes to these topic ids (short names) from now on. */
  watchTopics(names: readonly string[]): void;
  uninstall(): void;
}

type AnyMethod = (this: unknown, ...args: unknown[]) => unknown;

const DML_SQL = /^\s*(MERGE|INSERT|UPDATE|DELETE)\b/i;

let installed = false;

/** Installs the counting wrappers (once per process). */
export function installInstrumentation(bq: BigQueryFake): Instrumentation {
  if (installed) throw new Error("instrumentation is already installed in this process");
  installed = true;
  const counts = { ...ZERO_COUNTS };
  const watched = new Set<string>();
  const bqStart = bq.requests.length;
  const dmlStart = bq.dmlStats();
  /** Per Transaction object: writes staged by the current attempt. */
  const staged = new WeakMap<object, number>();
  const restores: (() => void)[] = [];

  /** Adds the time until `result` settles to counts[key]; a non-promise result passes through. */
  function timedCall(result: unknown, key: "pubsubPublishMs" | "bigqueryInsertMs" | "bigqueryDmlMs"): unknown {
    if (!(result instanceof Promise)) return result;
    const started = performance.now();
    const add = () => {
      counts[key] += performance.now() - started;
    };
    return result.then(
      (v: unknown) => {
        add();
        return v;
      },
      (e: unknown) => {
        add();
        throw e;
      },
    );
  }

  function wrap(proto: object, name: string, make: (original: AnyMethod) => AnyMethod): void {
    const target = proto as Record<string, AnyMethod>;
    const original = target[name];
    if (typeof original !== "function") throw new Error(`instrumentation: ${name} is not a method to wrap`);
    target[name] = make(original);
    restores.push(() => {
      target[name] = original;
    });
  }

  const readsOf = (result: unknown): number => {
    if (Array.isArray(result)) return Math.max(1, result.length); // getAll
    const size = (result as { size?: unknown }).size;
    return typeof size === "number" ? Math.max(1, size) : 1;
  };
  const countReads = (original: AnyMethod): AnyMethod =>
    function (this: unknown, ...args) {
      return (original.apply(this, args) as Promise<unknown>).then((result) => {
        counts.firestoreReads += readsOf(result);
        return result;
      });
    };
  const countWrite = (original: AnyMethod): AnyMethod =>
    function (this: unknown, ...args) {
      return (original.apply(this, args) as Promise<unknown>).then((result) => {
        counts.firestoreWrites += 1;
        return result;
      });
    };
  const stageWrite = (original: AnyMethod): AnyMethod =>
    function (this: unknown, ...args) {
      staged.set(this as object, (staged.get(this as object) ?? 0) + 1);
      return original.apply(this, args);
    };

  wrap(Transaction.prototype, "get", countReads);
  wrap(Transaction.prototype, "getAll", countReads);
  for (const m of ["set", "create", "update", "delete"]) wrap(Transaction.prototype, m, stageWrite);
  wrap(DocumentReference.prototype, "get", countReads);
  wrap(Query.prototype, "get", countReads);
  for (const m of ["set", "create", "update", "delete"]) wrap(DocumentReference.prototype, m, countWrite);
  wrap(Firestore.prototype, "runTransaction", (original) =>
    function (this: unknown, ...args) {
      const [update, ...rest] = args as [(tx: Transaction) => Promise<unknown>, ...unknown[]];
      let lastAttemptWrites = 0;
      const counted = (tx: Transaction) => {
        counts.transactionAttempts += 1;
        staged.set(tx, 0); // the client discards staged writes of an aborted attempt
        return update(tx).then((value) => {
          lastAttemptWrites = staged.get(tx) ?? 0;
          return value;
        });
      };
      const started = performance.now();
      return (original.apply(this, [counted, ...rest]) as Promise<unknown>).then(
        (value) => {
          counts.firestoreTransactionMs += performance.now() - started;
          counts.transactionsCommitted += 1;
          counts.firestoreWrites += lastAttemptWrites;
          return value;
        },
        (error: unknown) => {
          counts.firestoreTransactionMs += performance.now() - started;
          counts.transactionsFailed += 1;
          throw error;
        },
      );
    },
  );
  wrap(Topic.prototype, "publishMessage", (original) =>
    function (this: unknown, ...args) {
      const name = (this as Topic).name.split("/").pop() ?? "";
      if (!watched.has(name)) return original.apply(this, args);
      counts.pubsubPublishes += 1;
      return timedCall(original.apply(this, args), "pubsubPublishMs");
    },
  );
  // The runtime's BigQuery calls: Table.insert (insertAll) and BigQuery.query (jobs.query: the MERGE).
  wrap(Table.prototype, "insert", (original) =>
    function (this: unknown, ...args) {
      return timedCall(original.apply(this, args), "bigqueryInsertMs");
    },
  );
  wrap(BigQuery.prototype, "query", (original) =>
    function (this: unknown, ...args) {
      const q = args[0] as string | { query?: unknown } | undefined;
      const sql = typeof q === "string" ? q : String(q?.query ?? "");
      const result = original.apply(this, args);
      return DML_SQL.test(sql) ? timedCall(result, "bigqueryDmlMs") : result;
    },
  );

  return {
    snapshot() {
      const dml = bq.dmlStats();
      const bqCounts = {
        bigqueryInsertAll: 0,
        bigqueryDml: dml.committed - dmlStart.committed,
        bigqueryDmlRequests: 0,
        bigqueryDmlConflictReruns: dml.conflictReruns - dmlStart.conflictReruns,
        bigqueryDmlFailed: dml.conflicted + dml.queueFull - dmlStart.conflicted - dmlStart.queueFull,
        bigqueryQueries: 0,
        bigqueryOther: 0,
      };
      for (const r of bq.requests.slice(bqStart)) {
        if (r.api === "tabledata.insertAll") bqCounts.bigqueryInsertAll += 1;
        else if (r.api === "jobs.query" || r.api === "jobs.insert") {
          const sql = String((r.body as { query?: unknown; configuration?: { query?: { query?: unknown } } })?.query ?? (r.body as { configuration?: { query?: { query?: unknown } } })?.configuration?.query?.query ?? "");
          if (DML_SQL.test(sql)) bqCounts.bigqueryDmlRequests += 1;
          else bqCounts.bigqueryQueries += 1;
        } else bqCounts.bigqueryOther += 1;
      }
      return { ...counts, ...bqCounts };
    },
    watchTopics(names) {
      for (const n of names) watched.add(n);
    },
    uninstall() {
      for (const restore of restores.splice(0).reverse()) restore();
      installed = false;
    },
  };
}

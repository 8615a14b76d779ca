// How BigQuery runs mutating DML statements (UPDATE, DELETE, MERGE) on one table, as the fake models it:
// - at most `maxRunning` run at once per table, up to `maxQueued` more wait (PENDING), and a statement
//   beyond that fails at once with 400 resourcesExceeded ("Too many DML statements outstanding");
// - a statement takes `durationMs`; it commits at the end. If another statement committed a change
//   to one of the same partitions while it ran, it conflicts: BigQuery re-runs it (up to
//   `conflictRetries` times), then fails it with 400 "Could not serialize access to table ... due to
//   concurrent update".
// With durationMs 0 statements never overlap, so they never conflict.
import { ApiFailure, type DmlPlan } from "./engine.ts";

export interface DmlLimits {
  /** Mutating DML statements running at once per table (BigQuery: 2). */
  maxRunning: number;
  /** Statements waiting per table beyond the running ones (BigQuery: 20). */
  maxQueued: number;
  /** How long one statement runs, real ms (0: at once). */
  durationMs: number;
  /** Re-runs of a statement that conflicted before it fails (BigQuery: up to 3). */
  conflictRetries: number;
}

// A mutating DML statement takes a second or more in BigQuery, so concurrent statements on one table overlap.
export const REALISTIC_DML_LIMITS: DmlLimits = { maxRunning: 2, maxQueued: 20, durationMs: 1000, conflictRetries: 3 };

interface TableQueue {
  running: number;
  waiting: (() => void)[];
  /** Commits so far, each with the partitions it changed (kept while a statement may compare). */
  commits: { seq: number; partitions: Set<string> }[];
  seq: number;
}

/** BigQuery's text for a DML conflict (HTTP 400). */
export function concurrentUpdateMessage(projectId: string, datasetId: string, table: string): string {
  return `Could not serialize access to table ${projectId}:${datasetId}.${table} due to concurrent update`;
}

/** BigQuery's text when a table's DML queue is full (HTTP 400, reason resourcesExceeded). */
export function dmlQueueFullMessage(tableKey: string, maxQueued: number): string {
  return `Resources exceeded during query execution: Too many DML statements outstanding against table ${tableKey}, limit is ${maxQueued}.`;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** What the scheduler did since the start (or the last reset): statements committed, re-run, failed. */
export interface DmlStats {
  committed: number;
  conflictReruns: number;
  conflicted: number;
  queueFull: number;
}

export class DmlScheduler {
  private tables = new Map<string, TableQueue>();
  private gate: Promise<void> | null = null;
  private counters: DmlStats = { committed: 0, conflictReruns: 0, conflicted: 0, queueFull: 0 };

  constructor(private readonly limits: () => DmlLimits) {}

  reset(): void {
    this.tables = new Map();
    this.gate = null;
    this.counters = { committed: 0, conflictReruns: 0, conflicted: 0, queueFull: 0 };
  }

  /** Counts of what ran (instrumentation: a benchmark counts the DML the fake executed, not the requests). */
  stats(): DmlStats {
    return { ...this.counters };
  }

  /**
   * Test hook: statements that finished running wait before they commit until the returned
   * function is called, so a test can make statements overlap without depending on timing.
   */
  hold(): () => void {
    let open = () => {};
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    this.gate = gate;
    return () => {
      if (this.gate === gate) this.gate = null;
      open();
    };
  }

  /** Statements running and waiting on a table now. */
  load(tableKey: string): { running: number; queued: number } {
    const q = this.tables.get(tableKey);
    return { running: q?.running ?? 0, queued: q?.waiting.length ?? 0 };
  }

  /** Runs one statement: waits for a slot, takes its time, commits or conflicts. */
  async execute(tableKey: string, plan: () => DmlPlan): Promise<DmlPlan["result"]> {
    const q = this.queueOf(tableKey);
    await this.admit(tableKey, q);
    try {
      const { durationMs, conflictRetries } = this.limits();
      for (let run = 0; ; run++) {
        const startSeq = q.seq;
        if (durationMs > 0) await sleep(durationMs);
        while (this.gate !== null) await this.gate;
        const planned = plan();
        const conflict = q.commits.some((c) => c.seq > startSeq && [...c.partitions].some((p) => planned.partitions.has(p)));
        if (!conflict) {
          planned.apply();
          this.counters.committed += 1;
          q.seq += 1;
          if (planned.partitions.size > 0) q.commits.push({ seq: q.seq, partitions: planned.partitions });
          // Only commits newer than the oldest running statement's start matter; keep a short tail.
          if (q.commits.length > 100) q.commits.splice(0, q.commits.length - 100);
          return planned.result;
        }
        if (run >= conflictRetries) {
          this.counters.conflicted += 1;
          const [project, rest = ""] = tableKey.split(":");
          const [dataset = "", table = ""] = rest.split(".");
          throw new ApiFailure(400, "invalidQuery", concurrentUpdateMessage(project ?? "", dataset, table));
        }
        this.counters.conflictReruns += 1;
      }
    } finally {
      this.release(q);
    }
  }

  private queueOf(tableKey: string): TableQueue {
    let q = this.tables.get(tableKey);
    if (!q) {
      q = { running: 0, waiting: [], commits: [], seq: 0 };
      this.tables.set(tableKey, q);
    }
    return q;
  }

  private admit(tableKey: string, q: TableQueue): Promise<void> {
    const { maxRunning, maxQueued } = this.limits();
    if (q.running < maxRunning) {
      q.running += 1;
      return Promise.resolve();
    }
    if (q.waiting.length >= maxQueued) {
      this.counters.queueFull += 1;
      return Promise.reject(new ApiFailure(400, "resourcesExceeded", dmlQueueFullMessage(tableKey, maxQueued)));
    }
    return new Promise((resolve) => {
      q.waiting.push(() => {
        q.running += 1;
        resolve();
      });
    });
  }

  private release(q: TableQueue): void {
    q.running -= 1;
    q.waiting.shift()?.();
  }
}

// Billed operations and their list prices. Pure: constants and arithmetic only.
import type { OperationCounts } from "./instrument.ts";

/**
 * List prices in USD, beyond the free tiers, as published on the Google Cloud pricing pages
 * (Firestore, BigQuery, Pub/Sub), recorded on PRICES_RECORDED_ON. This machine has no internet
 * access, so they were not re-read live: check them before quoting the cost figures.
 */
export const PRICES_RECORDED_ON = "2026-11-30";
export const PRICES = {
  /** Firestore Standard edition, multi-region nam5 (regional locations such as us-west2 are cheaper): per document read. */
  firestoreRead: 0.06 / 100_000,
  /** Firestore Standard edition, multi-region nam5: per document write. */
  firestoreWrite: 0.18 / 100_000,
  /** BigQuery legacy streaming inserts (tabledata.insertAll): $0.01 per 200 MB, each row billed as at least 1 KB. */
  bigqueryInsertRow: (0.01 / (200 * 1024 * 1024)) * 1024,
  /** BigQuery on-demand: $6.25 per TiB processed, at least 10 MB per table referenced: a MERGE on a small table bills 10 MB. */
  bigqueryDml: (6.25 / 2 ** 40) * 10 * 2 ** 20,
  /** Pub/Sub: $40 per TiB of throughput, each publish and each delivery billed as at least 1000 bytes (one publish + one delivery). */
  pubsubPublishAndDelivery: (40 / 2 ** 40) * 2 * 1000,
} as const;

export interface BilledOperations {
  firestoreReads: number;
  firestoreWrites: number;
  bigqueryInsertRows: number;
  bigqueryDml: number;
  pubsubPublishes: number;
}

export const NO_OPERATIONS: BilledOperations = { firestoreReads: 0, firestoreWrites: 0, bigqueryInsertRows: 0, bigqueryDml: 0, pubsubPublishes: 0 };

export function billedOf(c: OperationCounts): BilledOperations {
  return {
    firestoreReads: c.firestoreReads,
    firestoreWrites: c.firestoreWrites,
    bigqueryInsertRows: c.bigqueryInsertAll,
    bigqueryDml: c.bigqueryDml,
    pubsubPublishes: c.pubsubPublishes,
  };
}

export function costOf(ops: BilledOperations): number {
  return (
    ops.firestoreReads * PRICES.firestoreRead +
    ops.firestoreWrites * PRICES.firestoreWrite +
    ops.bigqueryInsertRows * PRICES.bigqueryInsertRow +
    ops.bigqueryDml * PRICES.bigqueryDml +
    ops.pubsubPublishes * PRICES.pubsubPublishAndDelivery
  );
}

export function scale(ops: BilledOperations, by: number): BilledOperations {
  return {
    firestoreReads: ops.firestoreReads * by,
    firestoreWrites: ops.firestoreWrites * by,
    bigqueryInsertRows: ops.bigqueryInsertRows * by,
    bigqueryDml: ops.bigqueryDml * by,
    pubsubPublishes: ops.pubsubPublishes * by,
  };
}

export function add(a: BilledOperations, b: BilledOperations): BilledOperations {
  return {
    firestoreReads: a.firestoreReads + b.firestoreReads,
    firestoreWrites: a.firestoreWrites + b.firestoreWrites,
    bigqueryInsertRows: a.bigqueryInsertRows + b.bigqueryInsertRows,
    bigqueryDml: a.bigqueryDml + b.bigqueryDml,
    pubsubPublishes: a.pubsubPublishes + b.pubsubPublishes,
  };
}

/**
 * The existing system's design, from its documented steps (two writers of completion state and a latch
 * committed before publishing: docs/ARCHITECTURE.md FM2, FM3). Assumptions: per completion the tracker writes the processor key
 * (one Firestore write, outside the transaction), the orchestrator's transaction reads and writes the
 * phase document (one read, one write), the tracker inserts one phase_completions row and runs one MERGE
 * of phase_completion_status; per trigger one publish (the latch is part of that completion's
 * transaction write) and one phase_execution_log row. Its retries and redeliveries are not counted,
 * as ours are not in the per-completion figures.
 */
export const LEGACY_PER_COMPLETION: BilledOperations = {
  firestoreReads: 1,
  firestoreWrites: 2,
  bigqueryInsertRows: 1,
  bigqueryDml: 1,
  pubsubPublishes: 0,
};
export const LEGACY_PER_TRIGGER: BilledOperations = {
  firestoreReads: 0,
  firestoreWrites: 0,
  bigqueryInsertRows: 1,
  bigqueryDml: 0,
  pubsubPublishes: 1,
};

/** The legacy design's operations for `completions` completions that give `triggers` triggers. */
export function legacyOperations(completions: number, triggers: number): BilledOperations {
  return add(scale(LEGACY_PER_COMPLETION, completions), scale(LEGACY_PER_TRIGGER, triggers));
}

/**
 * The same measured operations with one status MERGE per completion, as the runtime ran it before the
 * MERGE moved to the latch (one per triggered phase): the "before" of the cost comparison.
 */
export function withMergePerCompletion(ops: BilledOperations, completions: number): BilledOperations {
  return { ...ops, bigqueryDml: completions };
}

export type CostShares = Record<keyof BilledOperations, number>;

/** Each kind of operation's share of the cost (0..1; all 0 when nothing is billed). */
export function costShares(ops: BilledOperations): CostShares {
  const total = costOf(ops);
  const share = (part: number) => (total > 0 ? part / total : 0);
  return {
    firestoreReads: share(ops.firestoreReads * PRICES.firestoreRead),
    firestoreWrites: share(ops.firestoreWrites * PRICES.firestoreWrite),
    bigqueryInsertRows: share(ops.bigqueryInsertRows * PRICES.bigqueryInsertRow),
    bigqueryDml: share(ops.bigqueryDml * PRICES.bigqueryDml),
    pubsubPublishes: share(ops.pubsubPublishes * PRICES.pubsubPublishAndDelivery),
  };
}

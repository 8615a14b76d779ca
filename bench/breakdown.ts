// Where a handler's time went, from the operations counted around each request (instrument.ts). Pure.
import type { OperationCounts } from "./instrument.ts";

/** Where a kind of completion's handler time went: mean ms per completion awaiting each kind of call. */
export interface HandlerBreakdown {
  n: number;
  handlerMs: number;
  firestoreTransactionMs: number;
  /** Transactions per completion (the record; a trigger adds markPublished). */
  firestoreTransactions: number;
  pubsubPublishMs: number;
  bigqueryInsertMs: number;
  bigqueryDmlMs: number;
  dmlStatements: number;
  /** The rest: parsing, deciding, logging, the framework, the HTTP round trip. */
  otherMs: number;
}

/** Mean per completion of the counted time and calls. */
export function breakdownOf(handlerMs: readonly number[], counts: readonly OperationCounts[]): HandlerBreakdown {
  const n = handlerMs.length;
  const mean = (xs: readonly number[]) => (n === 0 ? Number.NaN : xs.reduce((a, b) => a + b, 0) / n);
  const field = (k: keyof OperationCounts) => mean(counts.map((c) => c[k]));
  const handler = mean(handlerMs);
  const fs = field("firestoreTransactionMs");
  const pub = field("pubsubPublishMs");
  const ins = field("bigqueryInsertMs");
  const dml = field("bigqueryDmlMs");
  return {
    n,
    handlerMs: handler,
    firestoreTransactionMs: fs,
    firestoreTransactions: field("transactionsCommitted"),
    pubsubPublishMs: pub,
    bigqueryInsertMs: ins,
    bigqueryDmlMs: dml,
    dmlStatements: field("bigqueryDml"),
    otherMs: handler - fs - pub - ins - dml,
  };
}


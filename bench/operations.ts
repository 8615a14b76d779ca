// Section 4: cloud operations per completion, counted by instrumentation (instrument.ts) while a game
// day goes through every transition (each expected processor's completion once, as today's publishers
// send it), then once more as Pub/Sub redeliveries of the same messages (at-least-once delivery).
import { loadPipeline } from "../functions/core/pipeline.ts";
import { uniqueName } from "../tools/emulators/emulators.ts";
import { postJson } from "../tools/messages/post-json.ts";
import type { BenchEnvironment } from "./environment.ts";
import { serveOrchestrator } from "./in-process.ts";
import { diffCounts, type Instrumentation, type OperationCounts } from "./instrument.ts";
import { benchDate, completionsFor, pushEnvelope } from "./messages.ts";
import {
  add,
  billedOf,
  costOf,
  costShares,
  legacyOperations,
  NO_OPERATIONS,
  PRICES,
  PRICES_RECORDED_ON,
  scale,
  withMergePerCompletion,
  type BilledOperations,
  type CostShares,
} from "./cost-model.ts";

export interface TransitionOperations {
  transition: string;
  completions: number;
  triggers: number;
  operations: OperationCounts;
  perCompletion: BilledOperations;
  perTriggeredPhase: BilledOperations;
  /** One redelivery of each completion (a duplicate): what at-least-once delivery costs. */
  perDuplicate: BilledOperations;
  legacyPerTriggeredPhase: BilledOperations;
}

export interface OperationsResult {
  transitions: TransitionOperations[];
  gameDay: {
    completions: number;
    triggers: number;
    ours: BilledOperations;
    legacy: BilledOperations;
    oursCostUsd: number;
    legacyCostUsd: number;
    /** Each completion delivered twice (ours; the legacy design's duplicates are not modelled). */
    oursWithEveryMessageDuplicatedCostUsd: number;
    /** DML statements the BigQuery fake executed, per completion and per triggered phase (target: at most 1 per phase). */
    dmlPerCompletion: number;
    dmlPerTriggeredPhase: number;
    /** Ours, each kind of operation's share of the cost. */
    oursCostShares: CostShares;
    /** Before: the same operations with one status MERGE per completion (the runtime's earlier shape). */
    beforeCostUsd: number;
    beforeCostShares: CostShares;
  };
  prices: typeof PRICES;
  pricesRecordedOn: string;
}

const per = (ops: BilledOperations, n: number): BilledOperations => scale(ops, 1 / n);

export async function measureOperations(env: BenchEnvironment, instrumentation: Instrumentation): Promise<OperationsResult> {
  const pipeline = loadPipeline();
  const transitions: TransitionOperations[] = [];
  let ours = NO_OPERATIONS;
  let duplicates = NO_OPERATIONS;
  let completions = 0;
  let triggers = 0;
  for (const transition of pipeline.transitions) {
    const prefix = `${uniqueName("bench_ops").replace(/[^A-Za-z0-9_]/g, "_")}_`;
    const served = await serveOrchestrator(env, transition.id, prefix);
    try {
      const messages = completionsFor(transition, benchDate(0, 50_000));
      const envelopes = messages.map((m) => pushEnvelope(m));
      const before = instrumentation.snapshot();
      let triggered = 0;
      for (const e of envelopes) {
        const res = await postJson(served.url, e);
        if (res.status !== 200) throw new Error(`${transition.id} answered ${res.status}: ${JSON.stringify(res.body)}`);
        if ((res.body.trigger as { state?: string } | null)?.state === "published") triggered += 1;
      }
      const middle = instrumentation.snapshot();
      for (const e of envelopes) {
        const res = await postJson(served.url, e);
        if (res.status !== 200) throw new Error(`${transition.id} answered ${res.status} to a redelivery: ${JSON.stringify(res.body)}`);
      }
      const after = instrumentation.snapshot();
      if (triggered !== 1) throw new Error(`${transition.id}: expected one trigger from a full set of completions, saw ${triggered}`);
      const ops = diffCounts(before, middle);
      const dup = billedOf(diffCounts(middle, after));
      const billed = billedOf(ops);
      transitions.push({
        transition: transition.id,
        completions: messages.length,
        triggers: triggered,
        operations: ops,
        perCompletion: per(billed, messages.length),
        perTriggeredPhase: billed,
        perDuplicate: per(dup, messages.length),
        legacyPerTriggeredPhase: legacyOperations(messages.length, triggered),
      });
      ours = add(ours, billed);
      duplicates = add(duplicates, dup);
      completions += messages.length;
      triggers += triggered;
    } finally {
      await served.close();
    }
  }
  const legacy = legacyOperations(completions, triggers);
  const before = withMergePerCompletion(ours, completions);
  return {
    transitions,
    gameDay: {
      completions,
      triggers,
      ours,
      legacy,
      oursCostUsd: costOf(ours),
      legacyCostUsd: costOf(legacy),
      oursWithEveryMessageDuplicatedCostUsd: costOf(add(ours, duplicates)),
      dmlPerCompletion: ours.bigqueryDml / completions,
      dmlPerTriggeredPhase: ours.bigqueryDml / triggers,
      oursCostShares: costShares(ours),
      beforeCostUsd: costOf(before),
      beforeCostShares: costShares(before),
    },
    prices: PRICES,
    pricesRecordedOn: PRICES_RECORDED_ON,
  };
}

// Section 3: contention. All completions arrive at once at one orchestrator instance:
// - N completions of one date (N distinct expected processors: the phase 2 transition of a pipeline whose
//   phase 2 expects N processors, trigger when all are complete), and
// - M dates at once (the default pipeline, 5 completions per date).
// A non-2xx answer is delivered again after an exponential backoff with full jitter, as Pub/Sub does, but
// scaled down tenfold (1 s to 16 s instead of the stack's 10 s to 600 s) so a run fits in minutes: the
// count of redeliveries is reported, the latency understates what they cost in production. A burst is
// cut off after a wall-clock cap; completions not acknowledged by then are reported as undelivered.
// The floor is the same number of bare read-modify-write transactions on one document, at once.
// Proof of exactly one trigger per date: the triggers that arrived on the output topic (distinct
// trigger ids and raw message count per date), the Firestore latch state and the execution-log rows.
import { Firestore } from "@google-cloud/firestore";
import { PubSub } from "@google-cloud/pubsub";
import { loadPipeline, resolvePipeline, transitionById } from "../functions/core/pipeline.ts";
import { DEFAULT_PIPELINE } from "../functions/core/pipeline-defaults.ts";
import type { PipelineConfig, Transition } from "../functions/core/pipeline-types.ts";
import { uniqueName } from "../tools/emulators/emulators.ts";
import { postJson } from "../tools/messages/post-json.ts";
import type { BenchEnvironment } from "./environment.ts";
import { serveOrchestrator } from "./in-process.ts";
import { diffCounts, transactionRetries, type Instrumentation, type OperationCounts } from "./instrument.ts";
import { benchDate, completionsFor, pushEnvelope, syntheticCompletion } from "./messages.ts";
import { listenTo } from "./pubsub-util.ts";
import { summarize, type Summary } from "./stats.ts";

const TRANSITION = "phase2-to-phase3";
export const REDELIVERY_MIN_MS = 1_000;
export const REDELIVERY_MAX_MS = 16_000;

/** Delay before delivery number `delivery + 1` (delivery >= 1): full jitter over min * 2^(delivery-1), capped. Pure. */
export function redeliveryDelayMs(delivery: number, random: () => number = Math.random): number {
  return Math.floor(random() * Math.min(REDELIVERY_MAX_MS, REDELIVERY_MIN_MS * 2 ** (delivery - 1))) + 1;
}
/** Deliveries of one message before the bench gives up on it (the stack's maxDeliveryAttempts default). */
export const MAX_DELIVERIES = 10;

export interface ContentionRun {
  kind: "one_date" | "many_dates";
  /** Completions of one date (one_date) or dates (many_dates). */
  size: number;
  completions: number;
  dates: number;
  wallMs: number;
  throughputPerSecond: number;
  /** From the burst's start to each completion's 2xx (including redeliveries). */
  latency: Summary;
  /** Server-side time of every request (first deliveries and redeliveries). */
  handler: Summary;
  non2xx: number;
  redeliveries: number;
  undelivered: number;
  transactionsCommitted: number;
  transactionAttempts: number;
  transactionRetries: number;
  transactionRetriesPerCompletion: number;
  operations: OperationCounts;
  /** N bare read-modify-write transactions on one document at once (one_date runs only). */
  floor: ContentionFloor | null;
  triggers: { datesWithExactlyOne: number; publishes: number; messagesReceived: number; distinctTriggerIds: number; latchedAndPublishedInFirestore: number; executionLogRows: number };
  exactlyOneTriggerPerDate: boolean;
  errors: number;
  /** Distinct messages of the ERROR+ log lines (first five), e.g. the Firestore circuit opening. */
  errorMessages: string[];
}

/** The default pipeline with phase 2 expecting `n` processors (bench_p001...), all required. Pure. */
export function pipelineWithPhase2Processors(n: number): PipelineConfig {
  const names = Array.from({ length: n }, (_, i) => `bench_p${String(i + 1).padStart(3, "0")}`);
  return {
    ...DEFAULT_PIPELINE,
    transitions: DEFAULT_PIPELINE.transitions.map((t) =>
      t.id !== TRANSITION
        ? t
        : {
            ...t,
            processors: names.map((name) => ({ name, aliases: [], outputTables: [] })),
            rule: { kind: "all_complete" as const, deadline: { enabled: false, afterFirstCompletionMinutes: 30, critical: [names[0]!] } },
          },
    ),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function runBurst(
  env: BenchEnvironment,
  instrumentation: Instrumentation,
  kind: ContentionRun["kind"],
  size: number,
  pipelineConfig: PipelineConfig,
  messagesByDate: Map<string, Record<string, unknown>[]>,
  transition: Transition,
  capMs: number,
): Promise<ContentionRun> {
  const prefix = `${uniqueName("bench_con").replace(/[^A-Za-z0-9_]/g, "_")}_`;
  const served = await serveOrchestrator(env, TRANSITION, prefix, pipelineConfig);
  const pubsub = new PubSub({ projectId: env.projectId });
  const db = new Firestore({ projectId: env.projectId });
  const listener = await listenTo(pubsub.topic(transition.outputTopicName));
  try {
    // Warm the instance (channels, first-use paths) on a date outside the burst.
    const warmDate = benchDate(0, 9_000 + Math.floor(Math.random() * 5_000));
    await postJson(served.url, pushEnvelope(syntheticOrFixture(transition, pipelineConfig, warmDate)));
    const handlerBefore = served.handlerMs.length;
    const before = instrumentation.snapshot();

    const all = [...messagesByDate.values()].flat();
    let non2xx = 0;
    let redeliveries = 0;
    let undelivered = 0;
    const started = performance.now();
    const cutoff = started + capMs;
    const latencies = await Promise.all(
      all.map(async (message) => {
        const envelope = pushEnvelope(message);
        for (let delivery = 1; delivery <= MAX_DELIVERIES; delivery++) {
          const res = await postJson(served.url, envelope);
          if (res.status >= 200 && res.status < 300) return performance.now() - started;
          non2xx += 1;
          const delay = redeliveryDelayMs(delivery);
          if (delivery === MAX_DELIVERIES || performance.now() + delay > cutoff) break;
          redeliveries += 1;
          await sleep(delay);
        }
        undelivered += 1;
        return Number.NaN;
      }),
    );
    const wallMs = performance.now() - started;
    const after = instrumentation.snapshot();
    const ops = diffCounts(before, after);

    // Every date's trigger should be on the topic by now (published before the 2xx); wait a little for duplicates.
    const dates = [...messagesByDate.keys()];
    await Promise.all(dates.map((d) => listener.waitFor((a) => a.data.game_date === d, 15_000).catch(() => null)));
    await sleep(500);
    const perDate = dates.map((d) => {
      const got = listener.arrivals.filter((a) => a.data.game_date === d);
      return { messages: got.length, ids: new Set(got.map((a) => String(a.data.trigger_id))).size };
    });
    const states = await db.collection(`${prefix}phase_state`).get();
    const published = states.docs.filter((s) => dates.includes(String(s.get("gameDate"))) && s.get("trigger.state") === "published").length;
    const logRows = env.bq.rows("phase_execution_log").filter((r) => dates.includes(String(r.game_date)) && String(r.trigger_id).startsWith(`${TRANSITION}:`)).length;
    const exactlyOne = perDate.every((p) => p.ids === 1 && p.messages === 1) && published === dates.length && logRows === dates.length;
    const ok = latencies.filter((l) => Number.isFinite(l));
    const retries = transactionRetries(ops);
    return {
      kind,
      size,
      completions: all.length,
      dates: dates.length,
      wallMs,
      throughputPerSecond: ok.length / (wallMs / 1000),
      latency: summarize(ok),
      handler: summarize(served.handlerMs.slice(handlerBefore)),
      non2xx,
      redeliveries,
      undelivered,
      transactionsCommitted: ops.transactionsCommitted,
      transactionAttempts: ops.transactionAttempts,
      transactionRetries: retries,
      transactionRetriesPerCompletion: retries / all.length,
      operations: ops,
      triggers: {
        datesWithExactlyOne: perDate.filter((p) => p.ids === 1 && p.messages === 1).length,
        publishes: ops.pubsubPublishes,
        messagesReceived: perDate.reduce((a, p) => a + p.messages, 0),
        distinctTriggerIds: perDate.reduce((a, p) => a + p.ids, 0),
        latchedAndPublishedInFirestore: published,
        executionLogRows: logRows,
      },
      exactlyOneTriggerPerDate: exactlyOne,
      floor: null,
      errors: served.errors.length,
      errorMessages: [...new Set(served.errors.map((e) => String(e.message).replace(/\d{4}-\d{2}-\d{2}|[0-9a-f]{8,}/g, "…")))].slice(0, 5),
    };
  } finally {
    await listener.close();
    await served.close();
    await pubsub.close();
    await db.terminate();
  }
}

function syntheticOrFixture(transition: Transition, config: PipelineConfig, gameDate: string): Record<string, unknown> {
  const t = transitionById(resolvePipeline(config), transition.id);
  return syntheticCompletion(t.phaseWireName, t.processors[0]!.name, gameDate);
}

export interface ContentionFloor {
  transactions: number;
  wallMs: number;
  committed: number;
  failed: number;
  attempts: number;
  latency: Summary;
  cutOff: boolean;
  /** The same N transactions one after another on a fresh document (what serialising them per document would cost). */
  serializedWallMs: number;
}

/** N bare read-modify-write transactions on one document at once, through one client (one instance). */
export async function bareContentionFloor(env: BenchEnvironment, n: number, capMs: number): Promise<ContentionFloor> {
  const db = new Firestore({ projectId: env.projectId });
  const ref = db.collection(uniqueName("bench_cfloor").replace(/[^A-Za-z0-9_]/g, "_")).doc("d");
  await ref.set({ warm: true });
  let attempts = 0;
  let failed = 0;
  const started = performance.now();
  const cap = sleep(capMs).then(() => "cap" as const);
  const latencies: number[] = [];
  const all = Promise.all(
    Array.from({ length: n }, (_, i) =>
      db
        .runTransaction(async (tx) => {
          attempts += 1;
          const snap = await tx.get(ref);
          tx.set(ref, { ...snap.data(), [`p${i}`]: new Date().toISOString() });
        })
        .then(
          () => latencies.push(performance.now() - started),
          () => (failed += 1),
        ),
    ),
  );
  const outcome = await Promise.race([all.then(() => "done" as const), cap]);
  const wallMs = performance.now() - started;
  const serialRef = ref.parent.doc("serial");
  const serialStarted = performance.now();
  for (let i = 0; i < n; i++) {
    await db.runTransaction(async (tx) => {
      const snap = await tx.get(serialRef);
      tx.set(serialRef, { ...snap.data(), [`p${i}`]: new Date().toISOString() });
    });
  }
  const serializedWallMs = performance.now() - serialStarted;
  // A cut-off run's transactions keep going in the background; terminate() waits for them, so leave the client.
  if (outcome === "done") await db.terminate();
  return { transactions: n, wallMs, committed: latencies.length, failed, attempts, latency: summarize(latencies), cutOff: outcome === "cap", serializedWallMs };
}

let dateOffset = 3_000;

export async function measureContention(
  env: BenchEnvironment,
  instrumentation: Instrumentation,
  opts: { sizes: number[]; dates: number[]; capMs: number },
): Promise<ContentionRun[]> {
  const runs: ContentionRun[] = [];
  for (const n of opts.sizes) {
    const config = pipelineWithPhase2Processors(n);
    const transition = transitionById(resolvePipeline(config), TRANSITION);
    const gameDate = benchDate(0, dateOffset++);
    const messages = transition.processors.map((p) => syntheticCompletion(transition.phaseWireName, p.name, gameDate));
    const run = await runBurst(env, instrumentation, "one_date", n, config, new Map([[gameDate, messages]]), transition, opts.capMs);
    runs.push({ ...run, floor: await bareContentionFloor(env, n, opts.capMs) });
  }
  const transition = transitionById(loadPipeline(), TRANSITION);
  for (const m of opts.dates) {
    const byDate = new Map<string, Record<string, unknown>[]>();
    for (let i = 0; i < m; i++) {
      const gameDate = benchDate(i, dateOffset);
      byDate.set(gameDate, completionsFor(transition, gameDate));
    }
    dateOffset += m;
    runs.push(await runBurst(env, instrumentation, "many_dates", m, DEFAULT_PIPELINE, byDate, transition, opts.capMs));
  }
  return runs;
}

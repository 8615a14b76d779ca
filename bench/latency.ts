// Section 2: event latency against the local emulators.
// - handler time per completion (client-side round trip to the orchestrator served in this process),
//   split into completions that only record and the one that triggers, run twice: with the BigQuery
//   fake's realistic DML duration (BigQuery's ~1 s: the triggering completion awaits its MERGE, as in
//   the cloud) and with DML at once, each with where the time went (instrumented calls);
// - the floors: a bare Firestore transaction (read + write of one document), a bare publish, and both
//   in sequence (the floor the issue names), plus the BigQuery part (insertAll + MERGE on the fake), which
//   the floor leaves out but every completion pays;
// - end to end: from publishing a date's last completion on the input topic (the Pub/Sub emulator pushes
//   it to the orchestrator) to the trigger's arrival on the output topic, against a bare relay through the
//   same push path (an HTTP endpoint that only publishes to another topic).
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Firestore } from "@google-cloud/firestore";
import { PubSub } from "@google-cloud/pubsub";
import { loadPipeline, transitionById } from "../functions/core/pipeline.ts";
import { createBigQueryClient, createBigQueryStore } from "../functions/lib/bigquery-store.ts";
import { uniqueName } from "../tools/emulators/emulators.ts";
import { postJson } from "../tools/messages/post-json.ts";
import type { BenchEnvironment } from "./environment.ts";
import { serveOrchestrator } from "./in-process.ts";
import { benchDate, completionsFor, pushEnvelope } from "./messages.ts";
import { ensureTopic, listenTo, pushSubscription, unbatchedTopic } from "./pubsub-util.ts";
import { ratio, ratioSummary, summarize, type Summary } from "./stats.ts";
import { REALISTIC_DML_LIMITS } from "../tools/bigquery-fake/index.ts";
import { diffCounts, type Instrumentation, type OperationCounts } from "./instrument.ts";
import type { ServedOrchestrator } from "./in-process.ts";
import { breakdownOf, type HandlerBreakdown } from "./breakdown.ts";

export interface HandlerRun {
  /** The BigQuery fake's DML duration during the run (ms per statement). */
  dmlDurationMs: number;
  all: Summary;
  recordOnly: Summary;
  triggering: Summary;
  serverSide: Summary;
  breakdown: { recordOnly: HandlerBreakdown; triggering: HandlerBreakdown };
  /** p50 / the floor's p50 (transaction + publish). */
  recordOnlyVsFloor: number | null;
  triggeringVsFloor: number | null;
}

export interface LatencyResult {
  transition: string;
  /** With the fake's realistic DML duration (BigQuery's ~1 s): what a completion pays in the cloud. */
  handler: { all: Summary; recordOnly: Summary; triggering: Summary; serverSide: Summary };
  /** The same runs: realistic DML duration, then DML at once (0 ms), with their breakdowns. */
  handlerRuns: { realisticDml: HandlerRun; instantDml: HandlerRun };
  floor: { transaction: Summary; publish: Summary; transactionPlusPublish: Summary; bigqueryInsertPlusMerge: Summary };
  handlerVsFloor: { p50: number | null; p95: number | null; p99: number | null };
  endToEnd: {
    lastPublishToTrigger: Summary;
    /** Server-side handler time of the last completion (the rest is the push and pull transport). */
    lastHandler: Summary;
    relayFloor: Summary;
    /** Requests the push subscription made, against the completions published (more = duplicate pushes). */
    pushDeliveries: number;
    completionsPublished: number;
    vsRelayFloor: { p50: number | null; p95: number | null; p99: number | null };
    vsTransactionPlusPublish: { p50: number | null; p95: number | null; p99: number | null };
  };
  errors: number;
}

const TRANSITION = "phase2-to-phase3";

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const started = performance.now();
  const value = await fn();
  return [performance.now() - started, value];
}

export async function measureFloors(env: BenchEnvironment, samples: number) {
  const db = new Firestore({ projectId: env.projectId });
  const pubsub = new PubSub({ projectId: env.projectId });
  const topicName = uniqueName("bench-floor");
  const topic = unbatchedTopic(pubsub, topicName);
  await ensureTopic(pubsub, topicName);
  const listener = await listenTo(await ensureTopic(pubsub, topicName)); // the topic has a subscriber, as the output topics do
  const collection = db.collection(uniqueName("bench_floor").replace(/[^A-Za-z0-9_]/g, "_"));
  const bqStore = createBigQueryStore({
    bigquery: createBigQueryClient({ projectId: env.projectId, apiEndpoint: env.bq.url }),
    projectId: env.projectId,
    datasetId: env.datasetId,
  });
  const tx: number[] = [];
  const pub: number[] = [];
  const both: number[] = [];
  const bq: number[] = [];
  const bareTransaction = (i: number) =>
    db.runTransaction(async (t) => {
      const ref = collection.doc(`d${Math.floor(i / 5)}`);
      const snap = await t.get(ref);
      const entries = (snap.data()?.entries ?? {}) as Record<string, unknown>;
      t.set(ref, { entries: { ...entries, [`p${i % 5}`]: { at: new Date().toISOString() } } });
    });
  const barePublish = (i: number) => topic.publishMessage({ json: { i }, attributes: { i: String(i) } });
  // Warm-up: channels and the first-use paths of each client are not what a warm instance pays.
  for (let i = 0; i < 3; i++) {
    await bareTransaction(10_000 + i);
    await barePublish(i);
  }
  for (let i = 0; i < samples; i++) {
    tx.push((await timed(() => bareTransaction(i)))[0]);
    pub.push((await timed(() => barePublish(i)))[0]);
    both.push((await timed(async () => {
      await bareTransaction(samples + i);
      await barePublish(i);
    }))[0]);
  }
  const bqSamples = Math.min(samples, 100);
  for (let i = 0; i < bqSamples + 3; i++) {
    const gameDate = benchDate(i, 20_000);
    const [ms] = await timed(async () => {
      await bqStore.insertCompletion({
        phase: "phase_2_raw",
        transition_id: "bench-floor",
        game_date: gameDate,
        mode: "daily",
        processor_name: "p",
        reported_name: "P",
        status: "success",
        execution_id: `e${i}`,
        correlation_id: "c",
        completed_at: new Date().toISOString(),
        recorded_at: new Date().toISOString(),
        record_count: 1,
        records_failed: 0,
        duration_seconds: 1,
        completion_pct: null,
        message_id: `m${i}`,
        metadata: null,
      });
      await bqStore.upsertStatus({
        phase: "phase_2_raw",
        transition_id: "bench-floor",
        game_date: gameDate,
        mode: "daily",
        expected_count: 5,
        complete_count: 1,
        complete_processors: ["p"],
        triggered: false,
        trigger_id: null,
        trigger_reason: "waiting",
        updated_at: new Date().toISOString(),
      });
    });
    if (i >= 3) bq.push(ms);
  }
  await listener.close();
  await pubsub.close();
  await db.terminate();
  return {
    transaction: summarize(tx),
    publish: summarize(pub),
    transactionPlusPublish: summarize(both),
    bigqueryInsertPlusMerge: summarize(bq),
  };
}

/** A push endpoint that does no work but publish what it receives to another topic: the transport floor. */
async function measureRelayFloor(env: BenchEnvironment, samples: number): Promise<Summary> {
  const pubsub = new PubSub({ projectId: env.projectId });
  const inName = uniqueName("bench-relay-in");
  const outName = uniqueName("bench-relay-out");
  const inTopic = await ensureTopic(pubsub, inName);
  const outTopic = unbatchedTopic(pubsub, outName);
  const listener = await listenTo(await ensureTopic(pubsub, outName));
  const server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (body += c));
    req.on("end", () => {
      const envelope = JSON.parse(body) as { message: { data: string } };
      const data = JSON.parse(Buffer.from(envelope.message.data, "base64").toString("utf8")) as Record<string, unknown>;
      outTopic.publishMessage({ json: data }).then(
        () => res.writeHead(204).end(),
        (error: unknown) => res.writeHead(500).end(String(error)),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const sub = await pushSubscription(inTopic, `http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  const out: number[] = [];
  for (let i = -2; i < samples; i++) {
    const started = performance.now();
    await inTopic.publishMessage({ json: { seq: i } });
    const arrival = await listener.waitFor((a) => a.data.seq === i, 30_000);
    if (i >= 0) out.push(arrival.at - started);
  }
  await sub.delete();
  await listener.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await pubsub.close();
  return summarize(out);
}

/**
 * Completions posted one after another, as a single warm instance receives them (the first date is a
 * warm-up), with the operations each one made counted around it (nothing else runs meanwhile).
 */
async function measureHandler(served: ServedOrchestrator, instrumentation: Instrumentation, dates: number, dateOffset: number, dmlDurationMs: number, floor: Summary): Promise<HandlerRun> {
  const transition = transitionById(loadPipeline(), TRANSITION);
  const recordOnly: number[] = [];
  const triggering: number[] = [];
  const recordOps: OperationCounts[] = [];
  const triggerOps: OperationCounts[] = [];
  const warmup = 1;
  const handlerStart = served.handlerMs.length;
  for (let d = 0; d < dates + warmup; d++) {
    for (const message of completionsFor(transition, benchDate(d, dateOffset))) {
      const before = instrumentation.snapshot();
      const [ms, res] = await timed(() => postJson(served.url, pushEnvelope(message)));
      const ops = diffCounts(before, instrumentation.snapshot());
      if (res.status !== 200) throw new Error(`orchestrator answered ${res.status}: ${JSON.stringify(res.body)}`);
      if (d < warmup) continue;
      (res.body.trigger ? triggering : recordOnly).push(ms);
      (res.body.trigger ? triggerOps : recordOps).push(ops);
    }
  }
  const serverSide = served.handlerMs.slice(handlerStart + warmup * transition.processors.length);
  const recordSummary = summarize(recordOnly);
  const triggerSummary = summarize(triggering);
  return {
    dmlDurationMs,
    all: summarize([...recordOnly, ...triggering]),
    recordOnly: recordSummary,
    triggering: triggerSummary,
    serverSide: summarize(serverSide),
    breakdown: { recordOnly: breakdownOf(recordOnly, recordOps), triggering: breakdownOf(triggering, triggerOps) },
    recordOnlyVsFloor: ratio(recordSummary.p50, floor.p50),
    triggeringVsFloor: ratio(triggerSummary.p50, floor.p50),
  };
}

export async function measureLatency(
  env: BenchEnvironment,
  instrumentation: Instrumentation,
  opts: { dates: number; e2eDates: number; floorSamples: number },
): Promise<LatencyResult> {
  const transition = transitionById(loadPipeline(), TRANSITION);
  const prefix = `${uniqueName("bench_lat").replace(/[^A-Za-z0-9_]/g, "_")}_`;
  // The floors' BigQuery part (insertAll + MERGE) with DML at once: the fake's own overhead, not BigQuery's.
  env.bq.configure({ dml: { durationMs: 0 } });
  let floor: Awaited<ReturnType<typeof measureFloors>>;
  try {
    floor = await measureFloors(env, opts.floorSamples);
  } finally {
    env.bq.configure({ dml: { durationMs: REALISTIC_DML_LIMITS.durationMs } });
  }
  const served = await serveOrchestrator(env, TRANSITION, prefix);
  const pubsub = new PubSub({ projectId: env.projectId });
  const realisticMs = REALISTIC_DML_LIMITS.durationMs;
  try {
    // Handler time, twice: with BigQuery's DML duration (a triggering completion awaits its MERGE, as in
    // the cloud), then with DML at once (what is left is ours and the emulators').
    env.bq.configure({ dml: { durationMs: realisticMs } });
    const realisticDml = await measureHandler(served, instrumentation, opts.dates, 0, realisticMs, floor.transactionPlusPublish);
    env.bq.configure({ dml: { durationMs: 0 } });
    let instantDml: HandlerRun;
    try {
      // Dates of their own (contention.ts uses 3 000 onwards, its warm-ups 9 000-14 000): the execution-log
      // rows are counted per date there.
      instantDml = await measureHandler(served, instrumentation, opts.dates, 6_000, 0, floor.transactionPlusPublish);
    } finally {
      env.bq.configure({ dml: { durationMs: realisticMs } });
    }
    const { all: allRealistic, recordOnly, triggering, serverSide } = realisticDml;

    // End to end through the emulator's push subscription.
    const inTopic = await ensureTopic(pubsub, transition.inputTopicName);
    const outTopic = await ensureTopic(pubsub, transition.outputTopicName);
    const listener = await listenTo(outTopic);
    const sub = await pushSubscription(inTopic, served.url);
    const e2e: number[] = [];
    const lastHandler: number[] = [];
    const deliveriesBefore = served.handlerMs.length;
    for (let d = 0; d < opts.e2eDates + 1; d++) {
      const gameDate = benchDate(d, 1_000);
      const messages = completionsFor(transition, gameDate);
      const before = served.handlerMs.length;
      for (const m of messages.slice(0, -1)) await inTopic.publishMessage({ json: m });
      const deadline = Date.now() + 30_000;
      while (served.handlerMs.length < before + messages.length - 1) {
        if (Date.now() > deadline) throw new Error("pushed completions did not reach the orchestrator within 30 s");
        await new Promise((r) => setTimeout(r, 5));
      }
      const started = performance.now();
      await inTopic.publishMessage({ json: messages.at(-1)! });
      const arrival = await listener.waitFor((a) => a.data.game_date === gameDate, 30_000);
      if (d === 0) continue; // warm-up of the push path
      e2e.push(arrival.at - started);
      lastHandler.push(served.handlerMs.at(-1)!);
    }
    // The trigger arrives before the last handler returns: let it finish before counting deliveries.
    const published = (opts.e2eDates + 1) * transition.processors.length;
    const settleBy = Date.now() + 5_000;
    while (served.handlerMs.length - deliveriesBefore < published && Date.now() < settleBy) await new Promise((r) => setTimeout(r, 10));
    const pushDeliveries = served.handlerMs.length - deliveriesBefore;
    await sub.delete();
    await listener.close();

    const relayFloor = await measureRelayFloor(env, opts.e2eDates);
    const e2eSummary = summarize(e2e);
    return {
      transition: TRANSITION,
      handler: { all: allRealistic, recordOnly, triggering, serverSide },
      handlerRuns: { realisticDml, instantDml },
      floor,
      handlerVsFloor: ratioSummary(allRealistic, floor.transactionPlusPublish),
      endToEnd: {
        lastPublishToTrigger: e2eSummary,
        lastHandler: summarize(lastHandler),
        relayFloor,
        pushDeliveries,
        completionsPublished: published,
        vsRelayFloor: ratioSummary(e2eSummary, relayFloor),
        vsTransactionPlusPublish: ratioSummary(e2eSummary, floor.transactionPlusPublish),
      },
      errors: served.errors.length,
    };
  } finally {
    await served.close();
    await pubsub.close();
  }
}

// The chaos run on a started local stack: game dates replayed through every phase by simulated
// processors publishing at random moments (some twice, in any order), bad messages mixed in, the
// seeded fault schedule applied meanwhile; then everything heals, the run waits for the declared
// recovery (redelivery backoff, sweeper, reconciler called as Cloud Scheduler would), observes
// what the emulators and the fake hold, and checks the invariants (invariants.ts).
import { randomBytes, randomUUID } from "node:crypto";
import type { Message, Subscription } from "@google-cloud/pubsub";
import type { PhaseStateDoc } from "../../functions/core/phase-state.ts";
import type { Transition } from "../../functions/core/pipeline-types.ts";
import { RECONCILE_SETTLE_MS } from "../../functions/core/reconcile-rules.ts";
import { PHASE_COMPLETION_STATUS, PHASE_COMPLETIONS, PHASE_EXECUTION_LOG } from "../../functions/core/tables.ts";
import { pythonIsoTimestamp } from "../../functions/core/trigger-message.ts";
import { quarantineDocId } from "../../functions/lib/quarantine.ts";
import { createTriggerDeduper } from "../../functions/lib/trigger-dedupe.ts";
import { completionMessage, loadFixtures, malformedMessages, templateFor, unknownProcessorTemplate } from "../local-stack/messages.ts";
import { startScheduler } from "../local-stack/scheduler.ts";
import type { LocalStack } from "../local-stack/stack.ts";
import { startInjector } from "./injector.ts";
import {
  checkInvariants,
  extraDeliveries,
  lostCompletions,
  type AlertSeen,
  type ChaosObservations,
  type DeadLetterSeen,
  type InvalidMessage,
  type LogLineSeen,
  type PublishedCompletion,
  type TriggerDelivery,
} from "./invariants.ts";
import type { ChaosReport } from "./report.ts";
import { drawSchedule, phasePublications, type InputEvent } from "./schedule.ts";

export interface ChaosRunOptions {
  seed: number;
  dates: string[];
  minutes: number;
  log: (line: string) => void;
  /** The command that replays this run, for the report. */
  replay: string;
  /** How often the scheduled jobs are called (default 10 s). */
  scheduleIntervalMs?: number;
  /** After the last heal, how long to wait for convergence at most (default: the longest declared backoff plus 5 minutes). */
  recoveryTimeoutMs?: number;
  /** Once converged, how long to keep watching for late duplicates (default 20 s). */
  quietMs?: number;
  /**
   * When every date triggered, nothing is pending and no completion is missing, but an invariant
   * still breaks: how long nothing may change before the run stops waiting (default 180 s).
   */
  settledMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const SEVERITIES = ["DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL", "ALERT", "EMERGENCY"];

export async function runChaos(stack: LocalStack, o: ChaosRunOptions): Promise<ChaosReport> {
  const t0 = Date.now();
  const since = () => Date.now() - t0;
  const transitions = [...stack.pipeline.transitions].sort((a, b) => a.fromPhase - b.fromPhase);
  const first = transitions[0];
  if (first === undefined) throw new Error("the pipeline has no transitions");
  const nextOf = (t: Transition) => transitions.find((x) => x.fromPhase === t.toPhase);
  const scheduledNames = [...new Set(stack.plan.schedules.map((j) => j.functionName))].sort();
  const schedule = drawSchedule({
    seed: o.seed,
    durationMs: Math.round(o.minutes * 60_000),
    orchestrators: [...stack.orchestrators.values()].sort(),
    scheduled: scheduledNames,
    instances: stack.instanceCount,
    transitions: transitions.map((t) => t.id),
    dates: o.dates.length,
  });
  const fixtures = loadFixtures();
  const tag = randomBytes(3).toString("hex");
  const deduper = createTriggerDeduper(stack.db, stack.collections.consumedTriggers);
  const errors: string[] = [];
  const background = new Set<Promise<unknown>>();
  const track = (p: Promise<unknown>, what: string) => {
    const guarded = p.catch((error: unknown) => {
      errors.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
      o.log(`  ${what} failed: ${error instanceof Error ? error.message : String(error)}`);
    });
    background.add(guarded);
    void guarded.finally(() => background.delete(guarded));
  };

  const completions = new Map<string, PublishedCompletion>();
  const invalid: InvalidMessage[] = [];
  const deliveries: TriggerDelivery[] = [];
  const triggered = new Set<string>();
  const deadLetters: DeadLetterSeen[] = [];
  const alertsBefore = stack.slack.received.length;
  const refusedBefore = stack.slack.refused + stack.slack.rateLimited;
  let stopping = false;

  const publish = (t: Transition, data: Buffer): Promise<string> => stack.ps.topic(t.inputTopicName).publishMessage({ data });

  /** One phase of one date: each processor publishes at its drawn moment, some twice. */
  const runPhase = async (t: Transition, date: string, correlationId: string): Promise<void> => {
    const processors = t.rule.kind === "completion_pct" ? [t.rule.processor] : t.processors.map((p) => p.name);
    const pct = t.rule.kind === "completion_pct" ? Math.min(100, t.rule.minPct + 15) : undefined;
    await Promise.all(
      phasePublications(o.seed, t.id, date, processors).map(async (p) => {
        await sleep(p.delayMs);
        const msg = completionMessage(t, templateFor(t, p.processor, fixtures), { gameDate: date, correlationId, at: new Date(), ...(pct === undefined ? {} : { completionPct: pct }) });
        const data = Buffer.from(JSON.stringify(msg));
        const record: PublishedCompletion = { transition: t.id, date, processor: p.processor, executionId: String(msg.execution_id), messageIds: [] };
        completions.set(`${t.id}|${date}|${p.processor}`, record);
        record.messageIds.push(await publish(t, data));
        // A processor retrying its own publish: the same bytes again, possibly long after the others.
        for (const copyDelay of p.copyDelaysMs) {
          await sleep(copyDelay);
          record.messageIds.push(await publish(t, data));
        }
      }),
    );
  };

  const publishInput = async (e: InputEvent): Promise<void> => {
    const t = transitions.find((x) => x.id === e.transition)!;
    const date = o.dates[0]!;
    const [notJson, violation] = malformedMessages(t, fixtures, date, new Date());
    let data: Buffer;
    let processorName: string | undefined;
    if (e.kind === "not-json") data = notJson!.data;
    else if (e.kind === "contract-violation") data = violation!.data;
    else {
      // A name never seen before: its first sighting alerts (the ledger alerts once per name).
      processorName = `Chaos${randomBytes(3).toString("hex")}Processor`;
      data = Buffer.from(JSON.stringify({ ...unknownProcessorTemplate(t, fixtures), processor_name: processorName, game_date: date, timestamp: pythonIsoTimestamp(new Date()), execution_id: randomBytes(4).toString("hex"), correlation_id: randomUUID() }));
    }
    const messageId = await publish(t, data);
    invalid.push({ transition: t.id, messageId, kind: e.kind, quarantineId: quarantineDocId(t.id, messageId, null), atMs: since(), ...(processorName === undefined ? {} : { processorName }) });
  };

  // Downstream: one pull subscription per trigger topic; the next phase starts on a trigger id's first delivery.
  const listeners: Subscription[] = [];
  const simNames: string[] = [];
  const onTrigger = async (t: Transition, message: Message): Promise<void> => {
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(message.data.toString("utf8")) as Record<string, unknown>;
    } catch (error) {
      message.ack();
      throw new Error(`trigger ${message.id} on ${t.outputTopicName} is not JSON: ${(error as Error).message}`, { cause: error });
    }
    const date = String(body.game_date);
    if (!o.dates.includes(date)) {
      message.ack();
      return;
    }
    const triggerId = String(body.trigger_id ?? message.attributes.trigger_id ?? "");
    deliveries.push({ transition: t.id, date, triggerId, messageId: message.id, atMs: since(), publishedAtMs: message.publishTime.getTime() - t0 });
    let firstDelivery: boolean;
    try {
      firstDelivery = await deduper.firstDelivery(triggerId, { transition: t.id, game_date: date }, message.id);
    } catch (error) {
      message.nack();
      throw error;
    }
    message.ack();
    if (!firstDelivery) {
      o.log(`  duplicate trigger ${triggerId} (message ${message.id}) at ${(since() / 1000).toFixed(1)} s: dropped by trigger_id`);
      return;
    }
    triggered.add(`${t.id}|${date}`);
    const next = nextOf(t);
    o.log(`${t.id.padEnd(18)} ${date}  triggered at ${(since() / 1000).toFixed(1)} s (${String(body.trigger_reason)})`);
    if (next !== undefined && !stopping) await runPhase(next, date, String(body.correlation_id ?? randomUUID()));
  };
  for (const t of transitions) {
    const name = `chaos-${tag}-${t.outputTopicName}`;
    const [sub] = await stack.ps.topic(t.outputTopicName).createSubscription(name, { ackDeadlineSeconds: 60 });
    simNames.push(name);
    sub.on("error", (error: Error) => errors.push(`simulated reader of ${t.outputTopicName}: ${error.message}`));
    sub.on("message", (message: Message) => track(onTrigger(t, message), `trigger on ${t.outputTopicName}`));
    listeners.push(sub);
  }
  const dlqTopics = new Set(stack.plan.subscriptions.flatMap((s) => (s.deadLetter === undefined ? [] : [s.deadLetter.topic])));
  for (const s of stack.plan.subscriptions.filter((x) => dlqTopics.has(x.topic))) {
    const sub = stack.ps.subscription(s.name);
    sub.on("error", (error: Error) => errors.push(`dead-letter reader ${s.name}: ${error.message}`));
    sub.on("message", (m: Message) => {
      deadLetters.push({ subscription: s.name, data: m.data.toString("utf8") });
      o.log(`  dead letter on ${s.name}: ${m.data.toString("utf8").slice(0, 120)}`);
      m.ack();
    });
    listeners.push(sub);
  }

  const scheduleIntervalMs = o.scheduleIntervalMs ?? 10_000;
  const scheduler = startScheduler(stack, { intervalMs: scheduleIntervalMs, log: o.log, track: (p) => void p.catch((e: unknown) => o.log(`  [scheduler] ${String(e)}`)) });
  o.log(
    `chaos seed ${o.seed}: ${o.dates.length} date(s), ${stack.instanceCount} instance(s) per function, faults for ${o.minutes} min: ` +
      `${schedule.faults.length} fault(s), ${schedule.inputs.length} bad message(s)`,
  );
  const injector = startInjector({ stack, schedule, dates: o.dates, since, log: o.log });
  track(injector.done, "fault schedule");
  o.dates.forEach((date, i) => track(sleep(schedule.dateStartsMs[i] ?? 0).then(() => runPhase(first, date, randomUUID())), `phase ${first.fromPhase} of ${date}`));
  for (const e of schedule.inputs) track(sleep(e.atMs).then(() => publishInput(e)), `bad message ${e.kind}`);

  const terminal = transitions.filter((t) => nextOf(t) === undefined);
  const progress = () => `${triggered.size}/${o.dates.length * transitions.length} phase triggers, ${o.dates.filter((d) => terminal.every((t) => triggered.has(`${t.id}|${d}`))).length}/${o.dates.length} dates done`;

  const observe = async (): Promise<ChaosObservations> => {
    const snap = await stack.db.collection(stack.collections.phaseState).where("gameDate", "in", [...o.dates]).get();
    const latches = snap.docs.map((doc) => {
      const d = doc.data() as PhaseStateDoc;
      return {
        docId: doc.id,
        transition: d.transitionId,
        date: d.gameDate,
        mode: d.latchMode,
        entries: Object.entries(d.entries ?? {}).map(([processor, e]) => ({ processor, executionId: e.executionId })),
        trigger: d.trigger === null || d.trigger === undefined ? null : { triggerId: d.trigger.triggerId, state: d.trigger.state, decidedAtMs: Date.parse(d.trigger.decidedAt) - t0 },
      };
    });
    const ours = new Set(o.dates);
    const rows = (table: string) => stack.bigquery.rows(`${stack.datasetId}.${table}`).filter((r) => ours.has(String(r.game_date)));
    const quarantineRefs = invalid.map((m) => stack.db.collection(stack.collections.quarantine).doc(m.quarantineId));
    const quarantined = quarantineRefs.length === 0 ? [] : (await stack.db.getAll(...quarantineRefs)).filter((s) => s.exists).map((s) => s.id);
    const logs: LogLineSeen[] = [];
    for (const [fn, instances] of stack.instances) {
      for (const line of instances.flatMap((i) => i.logs)) {
        const message = String(line.message ?? line.msg ?? line.raw ?? "");
        const rank = SEVERITIES.indexOf(String(line.severity));
        if (rank < SEVERITIES.indexOf("WARNING") && !message.startsWith("alert suppressed")) continue;
        const at = Date.parse(String(line.time ?? ""));
        logs.push({ atMs: Number.isNaN(at) ? 0 : at - t0, function: fn, severity: String(line.severity), message, text: JSON.stringify(line) });
      }
    }
    const alerts: AlertSeen[] = stack.slack.received.slice(alertsBefore).map((a) => ({
      atMs: a.at - t0,
      title: a.title.replace(/^:[a-z_]+: \*\[[A-Z]+\] /, "").replace(/\*.*$/, ""),
      text: typeof a.body.text === "string" ? a.body.text : JSON.stringify(a.body),
      gameDate: a.gameDate,
    }));
    return {
      dates: o.dates,
      transitions: transitions.map((t) => t.id),
      completions: [...completions.values()],
      invalid: [...invalid],
      quarantined,
      deliveries: [...deliveries],
      latches,
      completionRows: rows(PHASE_COMPLETIONS.name).map((r) => ({
        transition: String(r.transition_id),
        date: String(r.game_date),
        processor: String(r.processor_name),
        executionId: String(r.execution_id),
        messageId: String(r.message_id),
        recordedAt: String(r.recorded_at),
      })),
      statusRows: rows(PHASE_COMPLETION_STATUS.name).map((r) => ({
        transition: String(r.transition_id),
        date: String(r.game_date),
        mode: String(r.mode),
        triggered: r.triggered === true,
        triggerId: r.trigger_id === null || r.trigger_id === undefined ? null : String(r.trigger_id),
      })),
      executionLogRows: rows(PHASE_EXECUTION_LOG.name).map((r) => ({ triggerId: String(r.trigger_id), transition: String(r.transition_id), date: String(r.game_date) })),
      deadLetters: [...deadLetters],
      alerts,
      logs,
      faults: injector.applied,
      timedOut: false,
    };
  };

  let recoverySeconds: number | null = null;
  let timedOut = false;
  try {
    // The fault period: progress every 20 s.
    let nextNotice = Date.now() + 20_000;
    let faultsDone = false;
    void injector.done.finally(() => (faultsDone = true));
    while (!faultsDone) {
      await sleep(500);
      if (Date.now() >= nextNotice) {
        nextNotice = Date.now() + 20_000;
        const active = injector.active();
        o.log(`chaos ${(since() / 1000).toFixed(0)} s: ${active.length === 0 ? "no fault active" : `active: ${active.join(", ")}`}; ${progress()}`);
      }
    }
    const healedAt = since();
    o.log(`chaos ${(healedAt / 1000).toFixed(0)} s: every fault healed; waiting for recovery (redelivery backoff, sweeper, reconciler); ${progress()}`);

    // Recovery: converge (invariants 1, 3 and 4 hold, every transition-date delivered), then a quiet
    // period for late duplicates. Bounded by the longest declared backoff plus five minutes.
    const maxBackoffMs = Math.max(0, ...stack.plan.subscriptions.map((s) => (s.retry?.maximumBackoffSeconds ?? 0) * 1000));
    const deadline = Date.now() + (o.recoveryTimeoutMs ?? maxBackoffMs + 300_000);
    nextNotice = Date.now() + 20_000;
    let lastState = "";
    let stableSince = Date.now();
    for (;;) {
      const seen = await observe();
      const results = checkInvariants(seen);
      const waitingFor = [results[0]!, results[2]!, results[3]!].filter((r) => !r.ok);
      const allTriggered = triggered.size === o.dates.length * transitions.length;
      if (waitingFor.length === 0 && allTriggered) {
        recoverySeconds = (since() - healedAt) / 1000;
        break;
      }
      // Settled short of the invariants: every date triggered, nothing pending, no completion missing
      // (so no message is still owed a redelivery), and nothing changed for a while while the
      // scheduled jobs kept running. A duplicate row never goes away; waiting out the longest backoff
      // would change nothing.
      const state = JSON.stringify(results.slice(0, 4).map((r) => r.detail));
      if (state !== lastState) {
        lastState = state;
        stableSince = Date.now();
      }
      // Tables that disagree with Firestore may still be repaired by the reconciler, which touches only
      // what is older than its settle window: give it that window and two of its runs.
      const settledAfterMs = o.settledMs ?? (results[3]!.ok ? 180_000 : RECONCILE_SETTLE_MS + 2 * scheduleIntervalMs);
      const settled = allTriggered && lostCompletions(seen) === 0 && !seen.latches.some((l) => l.trigger?.state === "pending") && Date.now() - stableSince > settledAfterMs;
      if (settled) {
        o.log(`  settled without converging: nothing changed for ${((Date.now() - stableSince) / 1000).toFixed(0)} s with every date triggered and no completion missing`);
        break;
      }
      if (Date.now() > deadline) {
        timedOut = true;
        break;
      }
      if (Date.now() >= nextNotice) {
        nextNotice = Date.now() + 20_000;
        o.log(`  recovering (${((since() - healedAt) / 1000).toFixed(0)} s after the heal): ${progress()}; still waiting: ${waitingFor.map((r) => `${r.name}: ${r.detail.split("\n")[0]!.slice(0, 200)}`).join(" | ") || "trigger deliveries"}`);
      }
      await sleep(3000);
    }
    if (recoverySeconds !== null) {
      o.log(`  converged ${recoverySeconds.toFixed(0)} s after the heal; watching ${((o.quietMs ?? 20_000) / 1000).toFixed(0)} s for late duplicates`);
      await sleep(o.quietMs ?? 20_000);
    }
  } finally {
    stopping = true;
    scheduler.stop();
    await injector.healAll();
    for (const sub of listeners) {
      sub.removeAllListeners("message");
      await sub.close();
    }
    for (const name of simNames) await stack.ps.subscription(name).delete().catch((e: unknown) => o.log(`  could not delete ${name}: ${String(e)}`));
  }
  // Background work (phases started by late triggers, the schedule) ends before the final look.
  await Promise.race([Promise.all([...background]), sleep(30_000)]);
  const observations = { ...(await observe()), timedOut };
  const invariants = checkInvariants(observations);
  if (errors.length > 0) invariants.push({ name: "the run itself", ok: false, detail: errors.slice(0, 5).join("; ") });
  const extras = extraDeliveries(observations);
  return {
    ok: invariants.every((i) => i.ok),
    seed: o.seed,
    stack: stack.plan.stack,
    dates: o.dates,
    instances: stack.instanceCount,
    minutes: o.minutes,
    schedule,
    faults: injector.applied,
    invariants,
    counts: {
      completionsPublished: observations.completions.length,
      completionCopies: observations.completions.reduce((n, c) => n + c.messageIds.length - 1, 0),
      triggerMessages: new Set(observations.deliveries.map((d) => d.messageId)).size,
      badMessages: observations.invalid.length,
      deadLetters: observations.deadLetters.length,
      alerts: observations.alerts.length,
      alertsRefused: stack.slack.refused + stack.slack.rateLimited - refusedBefore,
      crashes: injector.applied.filter((f) => f.killed === true).length,
    },
    duplicateDeliveries: extras.map((e) => ({ triggerId: e.triggerId, atMs: e.atMs })),
    replay: o.replay,
    durationSeconds: since() / 1000,
    recoverySeconds,
  };
}

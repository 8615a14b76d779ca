// Replays a game day on a started local stack: every expected phase 2 processor publishes its
// completion (jitter, a duplicate or two), the orchestrators trigger the next phases, and a simulated
// processor set per phase answers each trigger (de-duplicated by trigger_id, exactly-once-effective)
// through the last phase. Faults are injected for a window and healed. Then it counts what happened
// in the emulators and the fake and judges the run.
import { randomBytes, randomUUID } from "node:crypto";
import type { Message, Subscription } from "@google-cloud/pubsub";
import type { Transition } from "../../functions/core/pipeline-types.ts";
import type { PhaseStateDoc } from "../../functions/core/phase-state.ts";
import { PHASE_COMPLETIONS } from "../../functions/core/tables.ts";
import { createTriggerDeduper } from "../../functions/lib/trigger-dedupe.ts";
import type { FaultName } from "./args.ts";
import { startFault, type RunningFault } from "./faults.ts";
import type { Disagreement } from "./disagreement.ts";
import { startExistingSystem, type ExistingSystem } from "./existing-system.ts";
import { completionMessage, loadFixtures, templateFor } from "./messages.ts";
import { judge, type GameDayReport, type TriggerCount } from "./report.ts";
import { startScheduler } from "./scheduler.ts";
import type { LocalStack } from "./stack.ts";

export interface GameDayOptions {
  dates: string[];
  faults: readonly FaultName[];
  log: (line: string) => void;
  /** Until every date reached the last phase (default: defaultTimeoutMs). */
  timeoutMs?: number;
  /** How long a fault stays injected (default 5 s). */
  faultWindowMs?: number;
  /** Scheduled functions are invoked this often, as Cloud Scheduler would (default 5 s). */
  scheduleIntervalMs?: number;
  /** After the last phase: how long to wait for the stores to converge (default 90 s). */
  settleTimeoutMs?: number;
  /**
   * Shadow game day (the stack must be evaluated with triggerMode: shadow): a simulated existing
   * orchestrator (existing-system.ts) publishes the live triggers the processors act on, ours publish
   * to the shadow topics; `disagreements` make the existing system differ on purpose.
   */
  shadow?: { disagreements: readonly Disagreement[] };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const jitter = (min: number, max: number) => min + Math.floor(Math.random() * (max - min));
const key = (transition: string, date: string) => `${transition}|${date}`;

export async function runGameDay(stack: LocalStack, o: GameDayOptions): Promise<GameDayReport> {
  const t0 = Date.now();
  const since = () => Date.now() - t0;
  const transitions = [...stack.pipeline.transitions].sort((a, b) => a.fromPhase - b.fromPhase);
  const first = transitions[0];
  if (first === undefined) throw new Error("the pipeline has no transitions");
  const nextOf = (t: Transition) => transitions.find((x) => x.fromPhase === t.toPhase);
  const fixtures = loadFixtures();
  const tag = randomBytes(3).toString("hex");
  const deduper = createTriggerDeduper(stack.db, stack.collections.consumedTriggers);
  const background = new Set<Promise<unknown>>();
  const errors: string[] = [];
  const track = (p: Promise<unknown>, what: string) => {
    const guarded = p.catch((error: unknown) => {
      errors.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
    });
    background.add(guarded);
    void guarded.finally(() => background.delete(guarded));
  };

  // What this run published, per input topic (quarantine ids are `<transition>__<message id>`).
  const publishedIds = new Map<string, string[]>();
  let distinctCompletions = 0;
  let duplicates = 0;
  const firstPublishedAt = new Map<string, number>();
  const triggerIds = new Map<string, Set<string>>();
  const deliveries = new Map<string, number>();
  const triggeredAt = new Map<string, number>();
  const alertsBefore = stack.slack.received.length;
  const refusedBefore = stack.slack.refused;
  /** Every message seen on a live trigger topic (shadow: each must be the existing system's). */
  const liveMessages: { topic: string; id: string; triggerId: string }[] = [];

  if (o.shadow !== undefined && stack.triggerMode !== "shadow") {
    throw new Error(`a shadow game day needs the stack evaluated with triggerMode: shadow (stack ${stack.plan.stack} declares ${stack.triggerMode})`);
  }
  const existing: ExistingSystem | undefined =
    o.shadow === undefined
      ? undefined
      : await startExistingSystem(stack, { disagreements: o.shadow.disagreements, tag, log: o.log, onError: (what, error) => errors.push(`${what}: ${error instanceof Error ? error.message : String(error)}`) });
  const disagreement = (t: Transition) => existing?.disagreementOf(t.id);
  // The first transition the existing system never triggers: no processor of a later phase starts.
  const skippedAt = transitions.findIndex((t) => disagreement(t) === "skip");
  const withheld = (t: Transition) => skippedAt >= 0 && transitions.indexOf(t) >= skippedAt;

  const publishRaw = async (t: Transition, data: Buffer): Promise<string> => {
    const id = await stack.ps.topic(t.inputTopicName).publishMessage({ data });
    publishedIds.set(t.id, [...(publishedIds.get(t.id) ?? []), id]);
    return id;
  };

  /** The processors of one phase publish their completions for a date, with jitter and `dupes` duplicates. */
  const runPhase = async (t: Transition, date: string, correlationId: string, dupes: number): Promise<void> => {
    // An `early` disagreement: the phase is sent short (one processor, or a percentage under the minimum), so ours never triggers.
    const short = disagreement(t) === "early";
    const all = t.rule.kind === "completion_pct" ? [t.rule.processor] : t.processors.map((p) => p.name);
    const processors = short ? all.slice(0, 1) : all;
    const pct = t.rule.kind === "completion_pct" ? (short ? Math.max(0, t.rule.minPct - 10) : Math.min(100, t.rule.minPct + 15)) : undefined;
    const sent: Buffer[] = [];
    await Promise.all(
      processors.map(async (p) => {
        await sleep(jitter(20, 900));
        const msg = completionMessage(t, templateFor(t, p, fixtures), { gameDate: date, correlationId, at: new Date(), ...(pct === undefined ? {} : { completionPct: pct }) });
        const data = Buffer.from(JSON.stringify(msg));
        if (!firstPublishedAt.has(key(t.id, date))) firstPublishedAt.set(key(t.id, date), Date.now());
        await publishRaw(t, data);
        distinctCompletions += 1;
        sent.push(data);
      }),
    );
    // A processor that retried its own publish: the same bytes again (same execution id).
    for (let i = 0; i < dupes && sent.length > 0; i += 1) {
      await sleep(jitter(50, 600));
      await publishRaw(t, sent[Math.floor(Math.random() * sent.length)]!);
      duplicates += 1;
    }
  };

  // Simulated downstream: one pull subscription per trigger topic, created before anything can trigger.
  const listeners: Subscription[] = [];
  for (const t of transitions) {
    const [sub] = await stack.ps.topic(t.outputTopicName).createSubscription(`local-sim-${t.outputTopicName}-${tag}`, { ackDeadlineSeconds: 60 });
    sub.on("error", (error: Error) => errors.push(`simulated reader of ${t.outputTopicName}: ${error.message}`));
    sub.on("message", (message: Message) => track(onTrigger(t, message), `trigger on ${t.outputTopicName}`));
    listeners.push(sub);
  }
  const onTrigger = async (t: Transition, message: Message): Promise<void> => {
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(message.data.toString("utf8")) as Record<string, unknown>;
    } catch (error) {
      message.ack();
      throw new Error(`trigger ${message.id} on ${t.outputTopicName} is not JSON: ${(error as Error).message}`, { cause: error });
    }
    const date = String(body.game_date);
    const triggerId = String(body.trigger_id ?? message.attributes.trigger_id ?? "");
    liveMessages.push({ topic: t.outputTopicName, id: message.id, triggerId });
    if (!o.dates.includes(date)) {
      message.ack();
      return;
    }
    const k = key(t.id, date);
    deliveries.set(k, (deliveries.get(k) ?? 0) + 1);
    triggerIds.set(k, (triggerIds.get(k) ?? new Set()).add(triggerId));
    let firstDelivery: boolean;
    try {
      firstDelivery = await deduper.firstDelivery(triggerId, { transition: t.id, game_date: date }, message.id);
    } catch (error) {
      message.nack();
      throw error;
    }
    message.ack();
    if (!firstDelivery) return;
    triggeredAt.set(k, Date.now());
    const started = firstPublishedAt.get(k);
    const next = nextOf(t);
    o.log(
      `${t.id.padEnd(18)} ${date}  triggered (${String(body.trigger_reason)})` +
        `${started === undefined ? "" : ` ${((Date.now() - started) / 1000).toFixed(1)} s after its first completion`}` +
        `${next === undefined ? "; exporter recorded it" : `; phase ${next.fromPhase} processors start`}`,
    );
    if (next !== undefined) await runPhase(next, date, String(body.correlation_id ?? randomUUID()), next.fromPhase === 3 && date === o.dates[0] ? 1 : 0);
  };

  // Dead letters: every declared dead-letter subscription is read for the whole run.
  const deadLetters: { subscription: string; preview: string }[] = [];
  const dlqNames = [...new Set(stack.plan.subscriptions.flatMap((s) => (s.deadLetter === undefined ? [] : [s.deadLetter.topic])))];
  const dlqSubs = stack.plan.subscriptions.filter((s) => dlqNames.includes(s.topic));
  for (const s of dlqSubs) {
    const sub = stack.ps.subscription(s.name);
    sub.on("error", (error: Error) => errors.push(`dead-letter reader ${s.name}: ${error.message}`));
    sub.on("message", (m: Message) => {
      deadLetters.push({ subscription: s.name, preview: m.data.toString("utf8").slice(0, 160) });
      o.log(`  dead letter on ${s.name}: ${m.data.toString("utf8").slice(0, 120)}`);
      m.ack();
    });
    listeners.push(sub);
  }

  // Scheduled functions: invoked on a short interval, as Cloud Scheduler would on their schedule.
  const scheduler = startScheduler(stack, { intervalMs: o.scheduleIntervalMs ?? 5000, log: o.log, track });
  const localOverrides = scheduler.overrides;

  const windowMs = o.faultWindowMs ?? 5000;
  o.log(`game day ${o.dates.join(", ")}: ${o.faults.length === 0 ? "no fault" : `faults ${o.faults.join(", ")} (window ${windowMs / 1000} s)`}`);
  const faults: RunningFault[] = o.faults.map((name) => startFault(name, { stack, log: o.log, since, windowMs, first, dates: o.dates, allFaults: o.faults, fixtures, publishRaw }));
  for (const f of faults) track(f.healed, `fault ${f.record.name}`);

  const terminal = transitions.filter((t) => nextOf(t) === undefined);
  try {
    for (const date of o.dates) track(runPhase(first, date, randomUUID(), date === o.dates[0] ? 2 : 1), `phase ${first.fromPhase} of ${date}`);
    const deadline = t0 + (o.timeoutMs ?? defaultTimeoutMs(stack, o.faults.length > 0));
    // Shadow with a skipped transition: the chain ends before it, so the end is every transition not withheld.
    const reachedEnd = () =>
      o.dates.every((d) => (existing === undefined ? terminal : transitions.filter((t) => !withheld(t))).every((t) => triggeredAt.has(key(t.id, d))));
    // Shadow: ours must have triggered (on the shadow topic) wherever its phase was sent whole, before the report reads it.
    const oursOwed = () => (existing === undefined ? [] : o.dates.flatMap((d) => transitions.filter((t) => firstPublishedAt.has(key(t.id, d)) && disagreement(t) !== "early").map((t) => key(t.id, d))));
    let nextNotice = Date.now() + 20_000;
    while (!reachedEnd() && Date.now() < deadline) {
      await sleep(200);
      if (Date.now() >= nextNotice) {
        nextNotice = Date.now() + 20_000;
        const waiting = o.dates.flatMap((d) => transitions.filter((t) => firstPublishedAt.has(key(t.id, d)) && !triggeredAt.has(key(t.id, d))).map((t) => `${t.id} ${d}`));
        o.log(`  still waiting (${(since() / 1000).toFixed(0)} s) for ${waiting.join(", ") || "the first completions"}: redelivery follows the declared backoff`);
      }
    }
    const timedOut = !reachedEnd();
    await Promise.all(faults.map((f) => f.healed.catch(() => undefined)));

    // Settle: completions recorded in both stores, no trigger left pending; a quiet second for late duplicates.
    const settleDeadline = Date.now() + (o.settleTimeoutMs ?? 90_000);
    let counts = await countStores(stack, o.dates);
    const settled = () =>
      counts.firestore === distinctCompletions && counts.bigquery === distinctCompletions && counts.pending.length === 0 && oursOwed().every((k) => counts.latched.has(k));
    while (!timedOut && Date.now() < settleDeadline && !settled()) {
      await sleep(500);
      counts = await countStores(stack, o.dates);
    }
    await sleep(1500);
    counts = await countStores(stack, o.dates);
    while (background.size > 0) await Promise.all([...background]);

    const triggers: TriggerCount[] = [];
    for (const date of o.dates) {
      for (const t of transitions) {
        const k = key(t.id, date);
        const started = firstPublishedAt.get(k);
        const at = triggeredAt.get(k);
        triggers.push({
          transition: t.id,
          gameDate: date,
          count: triggerIds.get(k)?.size ?? 0,
          deliveries: deliveries.get(k) ?? 0,
          seconds: started !== undefined && at !== undefined ? (at - started) / 1000 : null,
        });
      }
    }
    const quarantined = await countQuarantined(stack, publishedIds);
    const shadowChecks =
      existing === undefined
        ? []
        : [
            {
              name: "shadow: the live trigger topics carry only the existing system's triggers",
              ok: liveMessages.every((m) => existing.published.has(m.id)),
              detail: `${liveMessages.length} live trigger message(s), ${existing.published.size} published by the simulated existing system${liveMessages
                .filter((m) => !existing.published.has(m.id))
                .map((m) => `; ${m.triggerId} on ${m.topic} is not its`)
                .join("")}`,
            },
          ];
    const healedAt = Math.max(0, ...faults.map((f) => (f.record.healedAtMs ?? 0) + t0));
    return judge({
      stack: stack.plan.stack,
      dates: o.dates,
      transitions: transitions.map((t) => t.id),
      withheld: transitions.filter(withheld).map((t) => t.id),
      triggers,
      completions: { published: distinctCompletions, duplicatesPublished: duplicates, firestore: counts.firestore, bigquery: counts.bigquery },
      deadLettered: deadLetters.length,
      deadLetters,
      quarantined,
      expectedQuarantined: faults.reduce((n, f) => n + f.expectedQuarantined, 0),
      pendingTriggers: counts.pending,
      alerts: stack.slack.received.length - alertsBefore,
      alertsRefused: stack.slack.refused - refusedBefore,
      alertsAfterHeal: stack.slack.received.slice(alertsBefore).filter((a) => a.at >= healedAt).length,
      faults: faults.map((f) => f.record),
      faultChecks: [...faults.flatMap((f) => f.checks()), ...shadowChecks, ...errors.map((e) => ({ name: "run", ok: false, detail: e }))],
      localOverrides,
      notes: stack.localNotes,
      durationSeconds: since() / 1000,
      timedOut,
    });
  } finally {
    scheduler.stop();
    for (const sub of listeners) {
      sub.removeAllListeners("message");
      await sub.close();
    }
    for (const t of transitions) await stack.ps.subscription(`local-sim-${t.outputTopicName}-${tag}`).delete();
    await existing?.close();
  }
}

/**
 * How long a game day may take: 4 minutes, plus the longest declared retry backoff when faults are
 * injected (a message that failed several times waits up to that long for its next delivery).
 */
export function defaultTimeoutMs(stack: Pick<LocalStack, "plan">, withFaults: boolean): number {
  const maxBackoff = Math.max(0, ...stack.plan.subscriptions.map((s) => s.retry?.maximumBackoffSeconds ?? 0));
  return 240_000 + (withFaults ? maxBackoff * 1000 : 0);
}

/** Completions recorded in Firestore (entries of the phase-state documents) and BigQuery (rows), for these dates. */
export async function countStores(
  stack: LocalStack,
  dates: readonly string[],
): Promise<{ firestore: number; bigquery: number; pending: string[]; /** `<transition>|<date>` whose trigger ours published. */ latched: Set<string> }> {
  const snap = await stack.db.collection(stack.collections.phaseState).where("gameDate", "in", [...dates]).get();
  let firestore = 0;
  const pending: string[] = [];
  const latched = new Set<string>();
  for (const doc of snap.docs) {
    const d = doc.data() as PhaseStateDoc;
    if (d.trigger?.publishedAt != null) latched.add(key(d.transitionId, d.gameDate));
    firestore += Object.keys(d.entries ?? {}).length;
    if (d.trigger?.state === "pending") pending.push(d.trigger.triggerId);
  }
  const wanted = new Set(dates);
  const bigquery = stack.bigquery.rows(`${stack.datasetId}.${PHASE_COMPLETIONS.name}`).filter((r) => wanted.has(String(r.game_date))).length;
  return { firestore, bigquery, pending, latched };
}

/** Quarantine documents of the messages this run published (ids are `<transition>__<message id>`). */
async function countQuarantined(stack: LocalStack, publishedIds: ReadonlyMap<string, string[]>): Promise<number> {
  const col = stack.db.collection(stack.collections.quarantine);
  const refs = [...publishedIds].flatMap(([transition, ids]) => ids.map((id) => col.doc(`${transition}__${id}`)));
  if (refs.length === 0) return 0;
  const snaps = await stack.db.getAll(...refs);
  return snaps.filter((s) => s.exists).length;
}

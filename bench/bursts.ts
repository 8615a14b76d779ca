// Section 5: bursts across several instances. In production a 2nd gen function serves one request per
// instance (unless its concurrency is raised), so a burst for one date lands on several instances and
// the in-instance per-document queue cannot order it: conflicting transactions meet in Firestore. This
// section runs the dev stack on the local stack (`npm start`'s machinery: the program's topics, push
// subscriptions with their declared retry and dead-letter policies, the functions from their archives)
// with N instances of every function behind its front proxy, each serving the stack's concurrency, and
// publishes at once:
//   (a) one date: every processor of every phase (16 completions),
//   (b) a backfill: D dates x every phase (16 x D completions).
// Verdict per run: each transition triggered exactly once per date (messages and distinct trigger ids
// on a reader of each trigger topic), nothing dead-lettered. Time: first publish to the last trigger
// received, against the serialized floor: the same completions posted one after another (each waits
// for the previous answer) times their count.
import { randomBytes } from "node:crypto";
import type { Message, Subscription } from "@google-cloud/pubsub";
import type { Transition } from "../functions/core/pipeline-types.ts";
import { completionMessage, gameDates, loadFixtures, templateFor } from "../tools/local-stack/messages.ts";
import { startLocalStack, type LocalStack } from "../tools/local-stack/stack.ts";
import { pushEnvelope } from "./messages.ts";
import { summarize, type Summary } from "./stats.ts";

export interface BurstRun {
  kind: "one_date" | "backfill";
  dates: number;
  completions: number;
  /** First publish to the last trigger received (or to the cut-off), ms. */
  wallMs: number;
  /** The serialized floor for this many completions (mean serialized completion x count), ms. */
  serializedFloorMs: number;
  /** wallMs / serializedFloorMs: below 1 the instances worked in parallel. */
  vsSerializedFloor: number | null;
  /** Burst start to each (transition, date)'s first trigger, ms. */
  triggerLatency: Summary;
  expectedTriggers: number;
  /** (transition, date) pairs with exactly one trigger message and one trigger id. */
  exactlyOne: number;
  triggerMessages: number;
  distinctTriggerIds: number;
  /** (transition, date) pairs with more than one trigger message or id: the defect to report. */
  duplicates: { transition: string; gameDate: string; messages: number; triggerIds: number }[];
  missing: { transition: string; gameDate: string }[];
  deadLettered: number;
  /** Requests each instance answered during the run, per function. */
  requestsPerInstance: Record<string, number[]>;
  /** Never above the stack's concurrency if the front proxy holds requests as it should. */
  maxInFlightPerInstance: number;
  /** Push deliveries answered (first deliveries and redeliveries) and those answered non-2xx (each is redelivered after the declared backoff). */
  pushesAnswered: number;
  pushesNon2xx: number;
  cutOff: boolean;
  ok: boolean;
  /** ERROR+ log lines of the functions during the run (first ten distinct messages). */
  errorMessages: string[];
  /** WARNING lines of the functions during the run: the five most frequent messages with their counts (why pushes were answered non-2xx). */
  warnings: { message: string; count: number }[];
}

export interface BurstResult {
  stack: string;
  instances: number;
  concurrencyPerInstance: number;
  /** After one unmeasured date (every instance's first connections), completions posted one after another. */
  serialized: { completions: number; perCompletion: Summary };
  runs: BurstRun[];
}

export interface BurstOptions {
  instances: number;
  backfillDates: number;
  /** Dates posted one after another for the serialized floor. */
  floorDates: number;
  /** A run not settled by then is cut off (reported, not waited out). */
  capMs: number;
  log: (line: string) => void;
}

const key = (transition: string, date: string) => `${transition}|${date}`;

/** Every completion of one date: each expected processor of each phase once (the coordinator with a passing pct). */
function completionsOfDate(transitions: readonly Transition[], date: string, fixtures: ReturnType<typeof loadFixtures>, runTag: string): { transition: Transition; data: Buffer }[] {
  return transitions.flatMap((t) => {
    const processors = t.rule.kind === "completion_pct" ? [t.rule.processor] : t.processors.map((p) => p.name);
    const pct = t.rule.kind === "completion_pct" ? Math.min(100, t.rule.minPct + 15) : undefined;
    return processors.map((p) => {
      const msg = completionMessage(t, templateFor(t, p, fixtures), { gameDate: date, correlationId: `bench-burst-${runTag}-${date}`, at: new Date(), ...(pct === undefined ? {} : { completionPct: pct }) });
      return { transition: t, data: Buffer.from(JSON.stringify(msg)) };
    });
  });
}

export async function measureBursts(o: BurstOptions): Promise<BurstResult> {
  const stack = await startLocalStack({ stack: "dev", instances: o.instances, log: (l) => o.log(`  ${l}`) });
  try {
    const transitions = [...stack.pipeline.transitions].sort((a, b) => a.fromPhase - b.fromPhase);
    const concurrency = Math.max(...stack.plan.functions.map((f) => f.concurrency));
    const fixtures = loadFixtures();
    const tag = randomBytes(3).toString("hex");
    // Distinct dates per part, so no part sees another's phase state: floor, (a), (b).
    const all = gameDates(1 + o.floorDates + 1 + o.backfillDates, new Date(), stack.pipeline.timeZone);
    const warmUpDate = all.slice(0, 1);
    const floorDates = all.slice(1, 1 + o.floorDates);
    const oneDate = all.slice(1 + o.floorDates, 2 + o.floorDates);
    const backfill = all.slice(2 + o.floorDates);

    // Warm-up, not measured: a burst at once reaches every instance, and each instance's first request
    // opens its connections; posting one after another would give those first requests to a few instances only.
    await Promise.all(
      [...stack.instances].map(async ([name, instances]) => {
        for (const _ of instances) {
          const res = await fetch(`${stack.urls.get(name)!}/health`, { signal: AbortSignal.timeout(120_000) });
          await res.text();
        }
      }),
    );
    await serializedFloor(stack, transitions, warmUpDate, fixtures, tag);
    const serialized = await serializedFloor(stack, transitions, floorDates, fixtures, tag);
    o.log(`serialized floor: ${serialized.completions} completions one after another, p50 ${serialized.perCompletion.p50.toFixed(0)} ms each`);
    const runs: BurstRun[] = [];
    for (const [kind, dates] of [["one_date", oneDate], ["backfill", backfill]] as const) {
      o.log(`burst ${kind}: ${dates.length} date(s) x ${transitions.length} phases at once over ${o.instances} instances per function`);
      const run = await burst(stack, transitions, kind, dates, fixtures, tag, serialized.perCompletion.mean, o);
      o.log(`  ${run.ok ? "ok" : "NOT OK"}: ${run.exactlyOne}/${run.expectedTriggers} exactly one trigger, ${run.deadLettered} dead letters, ${(run.wallMs / 1000).toFixed(1)} s`);
      runs.push(run);
    }
    return { stack: "dev", instances: o.instances, concurrencyPerInstance: concurrency, serialized, runs };
  } finally {
    await stack.close();
  }
}

async function serializedFloor(stack: LocalStack, transitions: readonly Transition[], dates: readonly string[], fixtures: ReturnType<typeof loadFixtures>, tag: string): Promise<BurstResult["serialized"]> {
  const samples: number[] = [];
  for (const date of dates) {
    for (const c of completionsOfDate(transitions, date, fixtures, tag)) {
      const url = stack.urls.get(stack.orchestrators.get(c.transition.id)!)!;
      const started = performance.now();
      const res = await fetch(`${url}/`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(pushEnvelope(JSON.parse(c.data.toString("utf8")))),
        signal: AbortSignal.timeout(120_000),
      });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`serialized floor: ${c.transition.id} answered ${res.status}: ${text.slice(0, 300)}`);
      samples.push(performance.now() - started);
    }
  }
  return { completions: samples.length, perCompletion: summarize(samples) };
}

async function burst(
  stack: LocalStack,
  transitions: readonly Transition[],
  kind: BurstRun["kind"],
  dates: readonly string[],
  fixtures: ReturnType<typeof loadFixtures>,
  tag: string,
  serializedMeanMs: number,
  o: BurstOptions,
): Promise<BurstRun> {
  const messages = new Map<string, number>();
  const triggerIds = new Map<string, Set<string>>();
  const firstTriggerAt = new Map<string, number>();
  const readerErrors: string[] = [];
  const subs: Subscription[] = [];
  let deadLettered = 0;
  const logsBefore = new Map([...stack.functions].map(([name, fn]) => [name, fn.logs.length]));
  const servedBefore = new Map([...stack.frontProxies].map(([name, p]) => [name, [...p.served]]));
  const non2xxBefore = [...stack.frontProxies.values()].reduce((a, p) => a + p.non2xx, 0);
  let settle: () => void = () => undefined;
  const settled = new Promise<void>((resolve) => (settle = resolve));
  const expected = transitions.length * dates.length;
  const t0 = performance.now();

  try {
    for (const t of transitions) {
      const [sub] = await stack.ps.topic(t.outputTopicName).createSubscription(`bench-burst-${kind}-${t.outputTopicName}-${tag}`, { ackDeadlineSeconds: 60 });
      sub.on("error", (error: Error) => readerErrors.push(`${t.outputTopicName}: ${error.message}`));
      sub.on("message", (m: Message) => {
        m.ack();
        let body: Record<string, unknown>;
        try {
          body = JSON.parse(m.data.toString("utf8")) as Record<string, unknown>;
        } catch (error) {
          readerErrors.push(`trigger ${m.id} on ${t.outputTopicName} is not JSON: ${(error as Error).message}`);
          return;
        }
        const date = String(body.game_date);
        if (!dates.includes(date)) return;
        const k = key(t.id, date);
        messages.set(k, (messages.get(k) ?? 0) + 1);
        triggerIds.set(k, (triggerIds.get(k) ?? new Set()).add(String(body.trigger_id ?? m.attributes.trigger_id ?? "")));
        if (!firstTriggerAt.has(k)) firstTriggerAt.set(k, performance.now() - t0);
        if (firstTriggerAt.size === expected) settle();
      });
      subs.push(sub);
    }
    const dlqTopics = new Set(stack.plan.subscriptions.flatMap((s) => (s.deadLetter === undefined ? [] : [s.deadLetter.topic])));
    for (const s of stack.plan.subscriptions.filter((x) => dlqTopics.has(x.topic))) {
      const sub = stack.ps.subscription(s.name);
      sub.on("error", (error: Error) => readerErrors.push(`dead-letter reader ${s.name}: ${error.message}`));
      sub.on("message", (m: Message) => {
        m.ack();
        deadLettered += 1;
      });
      subs.push(sub);
    }

    const all = dates.flatMap((d) => completionsOfDate(transitions, d, fixtures, tag));
    const start = performance.now();
    await Promise.all(all.map((c) => stack.ps.topic(c.transition.inputTopicName).publishMessage({ data: c.data })));
    let timer: NodeJS.Timeout | undefined;
    const cutOff = await Promise.race([
      settled.then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), o.capMs))),
    ]);
    clearTimeout(timer);
    const wallMs = Math.max(0, ...firstTriggerAt.values()) - (start - t0);
    // Late duplicates would arrive within a few seconds of the last trigger (a redelivered push that publishes again).
    await new Promise((r) => setTimeout(r, 5000));

    const duplicates: BurstRun["duplicates"] = [];
    const missing: BurstRun["missing"] = [];
    let exactlyOne = 0;
    for (const t of transitions) {
      for (const d of dates) {
        const k = key(t.id, d);
        const n = messages.get(k) ?? 0;
        const ids = triggerIds.get(k)?.size ?? 0;
        if (n === 0) missing.push({ transition: t.id, gameDate: d });
        else if (n === 1 && ids === 1) exactlyOne += 1;
        else duplicates.push({ transition: t.id, gameDate: d, messages: n, triggerIds: ids });
      }
    }
    const requestsPerInstance: Record<string, number[]> = {};
    let maxInFlight = 0;
    for (const [name, p] of stack.frontProxies) {
      const before = servedBefore.get(name) ?? [];
      requestsPerInstance[name] = p.served.map((n, i) => n - (before[i] ?? 0));
      maxInFlight = Math.max(maxInFlight, p.maxInFlightSeen);
    }
    const errorMessages = new Set<string>(readerErrors);
    const warnings = new Map<string, number>();
    for (const [name, fn] of stack.functions) {
      for (const line of fn.logs.slice(logsBefore.get(name) ?? 0)) {
        const text = String(line.message ?? "").split("\n")[0]!.slice(0, 200);
        if (["ERROR", "CRITICAL", "ALERT", "EMERGENCY"].includes(String(line.severity))) errorMessages.add(`${name}: ${text}`);
        // Dates and ids vary per line; the message without them groups alike lines.
        if (line.severity === "WARNING") {
          const shape = text.replace(/\d{4}-\d{2}-\d{2}/g, "<date>").replace(/[0-9a-f]{8,}/g, "<id>");
          warnings.set(shape, (warnings.get(shape) ?? 0) + 1);
        }
      }
    }
    const floor = serializedMeanMs * all.length;
    return {
      kind,
      dates: dates.length,
      completions: all.length,
      wallMs,
      serializedFloorMs: floor,
      vsSerializedFloor: floor > 0 ? wallMs / floor : null,
      triggerLatency: summarize([...firstTriggerAt.values()].map((v) => v - (start - t0))),
      expectedTriggers: expected,
      exactlyOne,
      triggerMessages: [...messages.values()].reduce((a, b) => a + b, 0),
      distinctTriggerIds: [...triggerIds.values()].reduce((a, s) => a + s.size, 0),
      duplicates,
      missing,
      deadLettered,
      requestsPerInstance,
      maxInFlightPerInstance: maxInFlight,
      pushesAnswered: Object.values(requestsPerInstance).flat().reduce((a, b) => a + b, 0),
      pushesNon2xx: [...stack.frontProxies.values()].reduce((a, p) => a + p.non2xx, 0) - non2xxBefore,
      cutOff,
      ok: !cutOff && exactlyOne === expected && deadLettered === 0,
      errorMessages: [...errorMessages].slice(0, 10),
      warnings: [...warnings].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([message, count]) => ({ message, count })),
    };
  } finally {
    await Promise.all(subs.map((s) => s.close()));
  }
}

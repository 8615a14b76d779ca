// The existing orchestrator, simulated for `npm start -- --shadow`: the system ours runs beside during
// a cutover. It reads every input topic through a subscription of its own (as the old functions'
// subscriptions do), records completions and decides with the same pure rules
// (functions/core/phase-state.ts, decision.ts: the old system followed them), and publishes one trigger
// per transition and date to the LIVE trigger topic, with the fields the downstream services read.
// The game day's simulated processors act on these triggers; ours go to the shadow topics.
//
// To exercise the report's disagreement paths it can be told to differ on a transition:
//   skip   it never triggers the transition (the report: only ours)
//   early  it triggers on the first completion it sees, and the game day sends the phase short so ours
//          never triggers (only the existing system)
//   field  it triggers with another value in a field the downstream service reads (a field difference;
//          only for transitions whose reader reads more than game_date)
import { randomUUID } from "node:crypto";
import type { Message, Subscription } from "@google-cloud/pubsub";
import { parseCompletionForTransition } from "../../functions/core/contracts.ts";
import { latchModeOfCompletion, phaseStateDocId, recordAndDecide, type PhaseStateDoc, type ResolvedCompletion } from "../../functions/core/phase-state.ts";
import type { Transition } from "../../functions/core/pipeline-types.ts";
import { buildTriggerMessage, triggerAttributes } from "../../functions/core/trigger-message.ts";
import { fieldsReadBy } from "../shadow-report/compare.ts";
import { EXISTING_TRIGGER_ID_PREFIX, type DisagreeKind, type Disagreement } from "./disagreement.ts";
import type { LocalStack } from "./stack.ts";

/** The downstream-read field a `field` disagreement changes, or undefined when the reader reads only game_date. Pure. */
export function differingField(transition: Pick<Transition, "toPhase">): string | undefined {
  return fieldsReadBy(transition).find((f) => f !== "game_date");
}

/** Another value of the same kind, so the difference is in the value, not the shape. Pure. */
export function otherValue(value: unknown): unknown {
  if (typeof value === "boolean") return !value;
  if (typeof value === "number") return value + 1;
  if (Array.isArray(value)) return value.length > 1 ? value.slice(0, -1) : [...(value as unknown[]), "existing-extra"];
  if (typeof value === "string" && /^\d{4}-\d{2}-\d{2}$/.test(value)) return new Date(Date.parse(`${value}T00:00:00Z`) - 86_400_000).toISOString().slice(0, 10);
  if (typeof value === "string") return `${value}-existing`;
  return "existing-value";
}

/** Checks each disagreement can be produced on this pipeline (a field one needs a field besides game_date). Pure. */
export function checkDisagreements(pipeline: { transitions: readonly Pick<Transition, "id" | "toPhase">[] }, disagreements: readonly Disagreement[]): string[] {
  const problems: string[] = [];
  for (const d of disagreements) {
    const t = pipeline.transitions.find((x) => x.id === d.transitionId);
    if (t === undefined) problems.push(`--shadow-disagree ${d.transitionId}: not a transition of this stack (${pipeline.transitions.map((x) => x.id).join(", ")})`);
    else if (d.kind === "field" && differingField(t) === undefined) {
      problems.push(`--shadow-disagree ${d.transitionId}:field: its reader reads no field besides game_date; use skip or early`);
    }
  }
  return problems;
}

export interface PublishedTrigger {
  transitionId: string;
  gameDate: string;
  triggerId: string;
}

export interface ExistingSystem {
  /** Live triggers it published, by Pub/Sub message id. */
  readonly published: ReadonlyMap<string, PublishedTrigger>;
  /** The disagreement set for a transition, if any. */
  disagreementOf(transitionId: string): DisagreeKind | undefined;
  close(): Promise<void>;
}

export interface ExistingSystemOptions {
  disagreements: readonly Disagreement[];
  /** Names its subscriptions apart from other runs on the same emulator. */
  tag: string;
  log: (line: string) => void;
  /** A failure the run must report (a publish that failed is also retried: the message is nacked). */
  onError: (what: string, error: unknown) => void;
}

type Stack = Pick<LocalStack, "ps" | "pipeline">;

export async function startExistingSystem(stack: Stack, o: ExistingSystemOptions): Promise<ExistingSystem> {
  const timeZone = stack.pipeline.timeZone;
  const kindOf = new Map(o.disagreements.map((d) => [d.transitionId, d.kind]));
  const docs = new Map<string, PhaseStateDoc>();
  const fired = new Set<string>();
  const published = new Map<string, PublishedTrigger>();
  const subscriptions: Subscription[] = [];

  const onCompletion = async (t: Transition, message: Message): Promise<void> => {
    let raw: unknown;
    try {
      raw = JSON.parse(message.data.toString("utf8"));
    } catch {
      o.log(`  [existing system] ${t.inputTopicName}: message ${message.id} is not JSON, dropped (ours quarantines it)`);
      message.ack();
      return;
    }
    const parsed = parseCompletionForTransition(t, raw);
    if (!parsed.ok) {
      message.ack(); // malformed or unknown processor: never counted
      return;
    }
    const { message: m, processor } = parsed.value;
    const meta = (m.metadata ?? {}) as Record<string, unknown>;
    const pct = typeof meta.completion_pct === "number" ? meta.completion_pct : undefined;
    const c: ResolvedCompletion = {
      processor,
      reportedName: m.processor_name,
      status: m.status,
      gameDate: m.game_date,
      executionId: m.execution_id,
      correlationId: m.correlation_id,
      completedAt: new Date(m.timestamp).toISOString(),
      messageId: message.id,
      ...(pct === undefined ? {} : { completionPct: pct }),
      ...(t.rule.kind === "completion_pct" ? { batchId: typeof meta.batch_id === "string" ? meta.batch_id : m.execution_id } : {}),
    };
    const now = new Date();
    const latchMode = latchModeOfCompletion(t, c, now, timeZone);
    const id = phaseStateDocId(t.id, c.gameDate, latchMode);
    const step = recordAndDecide(docs.get(id) ?? null, t, latchMode, c, now, now, timeZone);
    docs.set(id, step.doc);
    const kind = kindOf.get(t.id);
    const key = `${t.id}|${c.gameDate}`;
    const fires = kind === "early" || step.decision.trigger;
    if (!fires || fired.has(key)) {
      message.ack();
      return;
    }
    fired.add(key);
    if (kind === "skip") {
      o.log(`  [existing system] ${t.id} ${c.gameDate}: decided to trigger, withheld on purpose (--shadow-disagree ${t.id}:skip)`);
      message.ack();
      return;
    }
    const triggerId = `${EXISTING_TRIGGER_ID_PREFIX}${randomUUID()}`;
    const decision = kind === "early" ? { ...step.decision, trigger: true, reason: "first_completion_seen" } : step.decision;
    const payload = buildTriggerMessage(t, decision, {
      gameDate: c.gameDate,
      correlationId: c.correlationId,
      triggerId,
      now,
      upstream: { ...(c.batchId === undefined ? {} : { batchId: c.batchId }), ...(pct === undefined ? {} : { completionPct: pct }) },
    }) as unknown as Record<string, unknown>;
    const field = kind === "field" ? differingField(t) : undefined;
    if (field !== undefined) payload[field] = otherValue(payload[field]);
    try {
      const messageId = await stack.ps.topic(t.outputTopicName).publishMessage({ data: Buffer.from(JSON.stringify(payload)), attributes: triggerAttributes(payload as never) });
      published.set(messageId, { transitionId: t.id, gameDate: c.gameDate, triggerId });
    } catch (error) {
      fired.delete(key); // the redelivery decides and publishes again
      message.nack();
      throw error;
    }
    o.log(`  [existing system] ${t.id} ${c.gameDate}: triggered ${t.outputTopicName}${kind === undefined ? "" : ` (--shadow-disagree ${t.id}:${kind}${field === undefined ? "" : `, ${field} changed`})`}`);
    message.ack();
  };

  try {
    for (const t of stack.pipeline.transitions) {
      const [sub] = await stack.ps.topic(t.inputTopicName).createSubscription(`local-existing-${t.inputTopicName}-${o.tag}`, { ackDeadlineSeconds: 60 });
      sub.on("error", (error: Error) => o.onError(`existing system's reader of ${t.inputTopicName}`, error));
      sub.on("message", (message: Message) => {
        onCompletion(t, message).catch((error: unknown) => o.onError(`existing system on ${t.inputTopicName}`, error));
      });
      subscriptions.push(sub);
    }
  } catch (error) {
    await Promise.all(subscriptions.map((s) => s.delete()));
    throw error;
  }

  return {
    published,
    disagreementOf: (transitionId) => kindOf.get(transitionId),
    close: async () => {
      for (const sub of subscriptions) {
        sub.removeAllListeners("message");
        await sub.close();
        await sub.delete();
      }
    },
  };
}

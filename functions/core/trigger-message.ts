// The trigger an orchestrator publishes for the next phase, and that phase's input contract.
// Every trigger carries our fields; each downstream service also gets what it reads today
// (docs/ARCHITECTURE.md, "Compatibility"), so a trigger can never again be rejected for a missing
// field (docs/ARCHITECTURE.md FM7). Pure.
import { ConfigurationError, ContractViolationError } from "./error-family.ts";
import { z } from "zod";
import type { Decision } from "./decision-types.ts";
import { RUN_MODES } from "./pipeline-types.ts";
import type { RunMode, TransitionConfig } from "./pipeline-types.ts";
import { contractErrorMap, issuesToErrors } from "./contracts.ts";
import type { ContractError, ContractResult } from "./contracts.ts";

type TriggerTransition = Pick<TransitionConfig, "id" | "toPhase" | "functionName" | "rule">;

/** Who reads the trigger of a transition, by the phase it starts. */
export type DownstreamReader = "phase3_analytics" | "phase4_precompute" | "prediction_coordinator" | "phase6_exporter";

const READER_BY_TARGET_PHASE: Record<number, DownstreamReader> = {
  3: "phase3_analytics",
  4: "phase4_precompute",
  5: "prediction_coordinator",
  6: "phase6_exporter",
};

/** The downstream service a transition triggers; a target phase we do not know gets the common contract only. */
export function downstreamReaderOf(transition: Pick<TransitionConfig, "toPhase">): DownstreamReader | null {
  return READER_BY_TARGET_PHASE[transition.toPhase] ?? null;
}

/** Deterministic, readable trigger id, e.g. `phase3-to-phase4:2026-01-15:overnight`; one per latch. */
export function triggerIdFor(transitionId: string, gameDate: string, latchMode: RunMode | "daily"): string {
  return `${transitionId}:${gameDate}:${latchMode}`;
}

/**
 * The timestamp format today's (Python) publishers use and readers parse: microseconds and an
 * explicit +00:00 offset (`datetime.fromisoformat` before Python 3.11 rejects a trailing Z).
 */
export function pythonIsoTimestamp(at: Date): string {
  return at.toISOString().replace(/Z$/, "000+00:00");
}

const nonEmpty = z.string().min(1);
const count = z.number().int().nonnegative();

const CommonTriggerFields = {
  game_date: z.iso.date(),
  correlation_id: nonEmpty,
  trigger_id: nonEmpty,
  triggered_by: nonEmpty,
  trigger_reason: nonEmpty,
  mode: z.enum(RUN_MODES),
  upstream_processors_count: count,
  expected_processors: z.array(nonEmpty),
  missing_processors: z.array(nonEmpty).optional(),
  timestamp: z.iso.datetime({ offset: true }),
};

const READER_FIELDS = {
  phase3_analytics: {},
  // The phase 4 service reads game_date or analysis_date.
  phase4_precompute: { analysis_date: z.iso.date() },
  // The prediction coordinator starts from game_date, correlation_id and trigger_source.
  prediction_coordinator: { trigger_source: z.literal("orchestrator") },
  phase6_exporter: {
    export_types: z.array(nonEmpty).min(1),
    target_date: z.iso.date(),
    update_latest: z.boolean(),
    upstream_batch_id: z.string().nullable(),
    upstream_predictions: count.nullable(),
    upstream_completion_pct: z.number().min(0).max(100).optional(),
  },
} as const;

/** The input contract of the phase a transition triggers (extra keys are tolerated). */
export function triggerSchemaFor(transition: TriggerTransition) {
  const reader = downstreamReaderOf(transition);
  const fields = reader === null ? {} : READER_FIELDS[reader];
  return z.looseObject({ ...CommonTriggerFields, ...fields }).superRefine((msg, ctx) => {
    const record = msg as Record<string, unknown>;
    for (const key of ["analysis_date", "target_date"] as const) {
      if (key in fields && record[key] !== msg.game_date) {
        ctx.addIssue({ code: "custom", path: [key], message: `must equal game_date "${msg.game_date}"` });
      }
    }
    if (msg.triggered_by !== transition.functionName) {
      ctx.addIssue({ code: "custom", path: ["triggered_by"], message: `must be "${transition.functionName}"` });
    }
  });
}

/** The fields every trigger has, plus the optional reader-specific ones. */
export interface TriggerMessage {
  game_date: string;
  correlation_id: string;
  trigger_id: string;
  triggered_by: string;
  trigger_reason: string;
  mode: RunMode;
  upstream_processors_count: number;
  expected_processors: string[];
  missing_processors?: string[];
  timestamp: string;
  analysis_date?: string;
  trigger_source?: "orchestrator";
  export_types?: string[];
  target_date?: string;
  update_latest?: boolean;
  upstream_batch_id?: string | null;
  upstream_predictions?: number | null;
  upstream_completion_pct?: number;
}

export interface TriggerContext {
  gameDate: string;
  /** Carried through from the completion that caused the trigger. */
  correlationId: string;
  triggerId: string;
  now: Date;
  /** Phase 5 coordinator facts for the exporter. */
  upstream?: { batchId?: string; completedPredictions?: number; completionPct?: number };
}

/**
 * Builds the trigger for a firing decision and checks it against the next phase's contract before
 * returning it: an invalid trigger throws here rather than being rejected downstream.
 */
export function buildTriggerMessage(transition: TriggerTransition, decision: Decision, ctx: TriggerContext): TriggerMessage {
  if (!decision.trigger) {
    throw new ContractViolationError(`${transition.id}: no trigger for a decision that does not fire (reason "${decision.reason}")`);
  }
  const message: TriggerMessage = {
    game_date: ctx.gameDate,
    correlation_id: ctx.correlationId,
    trigger_id: ctx.triggerId,
    triggered_by: transition.functionName,
    trigger_reason: decision.reason,
    mode: decision.mode,
    upstream_processors_count: decision.complete.length,
    expected_processors: [...decision.expected],
    ...(decision.degraded ? { missing_processors: [...decision.missing] } : {}),
    timestamp: pythonIsoTimestamp(ctx.now),
  };
  switch (downstreamReaderOf(transition)) {
    case "phase4_precompute":
      message.analysis_date = ctx.gameDate;
      break;
    case "prediction_coordinator":
      message.trigger_source = "orchestrator";
      break;
    case "phase6_exporter": {
      if (transition.rule.kind !== "completion_pct") {
        throw new ConfigurationError(`${transition.id}: the phase 6 exporter needs export_types, which only a completion_pct rule defines`);
      }
      message.export_types = [...transition.rule.exportTypes];
      message.target_date = ctx.gameDate;
      message.update_latest = true;
      message.upstream_batch_id = ctx.upstream?.batchId ?? null;
      message.upstream_predictions = ctx.upstream?.completedPredictions ?? null;
      if (ctx.upstream?.completionPct !== undefined) message.upstream_completion_pct = ctx.upstream.completionPct;
      break;
    }
    case "phase3_analytics":
    case null:
      break;
  }
  const checked = parseTriggerMessage(transition, message);
  if (!checked.ok) {
    throw new ContractViolationError(`${transition.id}: built an invalid trigger: ${describeErrors(checked.errors)}`);
  }
  return message;
}

/** Validates a trigger against the input contract of the phase the transition starts. */
export function parseTriggerMessage(transition: TriggerTransition, raw: unknown): ContractResult<TriggerMessage> {
  const result = triggerSchemaFor(transition).safeParse(raw, { error: contractErrorMap });
  return result.success
    ? { ok: true, value: result.data as TriggerMessage }
    : { ok: false, errors: issuesToErrors(result.error.issues) };
}

/** Pub/Sub attributes of a trigger, so subscribers can de-duplicate without parsing the body. */
export function triggerAttributes(message: Pick<TriggerMessage, "trigger_id" | "correlation_id" | "game_date">): Record<string, string> {
  return { trigger_id: message.trigger_id, correlation_id: message.correlation_id, game_date: message.game_date };
}

function describeErrors(errors: readonly ContractError[]): string {
  return errors.map((e) => `${e.path}: ${e.message}`).join("; ");
}

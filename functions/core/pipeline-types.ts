// The shape of the pipeline model: the single source of truth that infra reads to declare
// resources and that functions read (through the PIPELINE_CONFIG environment variable that
// infra sets) to decide. Pure types: no I/O, no cloud clients, no Pulumi.

/** Statuses a processor may publish today. Only the counting ones move a phase forward. */
export const COMPLETION_STATUSES = ["success", "partial", "no_data", "failed", "skipped"] as const;
export type CompletionStatus = (typeof COMPLETION_STATUSES)[number];
export const COUNTING_STATUSES: readonly CompletionStatus[] = ["success", "partial"];

/** How a date relates to "today" in the pipeline's time zone (America/New_York by default). */
export const RUN_MODES = ["overnight", "same_day", "tomorrow"] as const;
export type RunMode = (typeof RUN_MODES)[number];

export interface ProcessorDef {
  /** The expected name (snake_case), the key everything else uses. */
  name: string;
  /** Explicit aliases: the class names publishers send today. */
  aliases: string[];
  /** Output tables (without dataset prefix) that identify this processor. */
  outputTables: string[];
}

export interface ModeSets {
  expected: string[];
  critical: string[];
  optional: string[];
}

export type TriggerRule =
  /** Trigger when every expected processor is complete; optionally a deadline after the first completion. */
  | {
      kind: "all_complete";
      deadline: {
        enabled: boolean;
        afterFirstCompletionMinutes: number;
        critical: string[];
      };
    }
  /** Mode-aware: all expected, or all critical plus at least majorityPct of critical+optional. */
  | {
      kind: "mode_aware";
      majorityPct: number;
      modes: Record<RunMode, ModeSets>;
    }
  /** All complete at once; otherwise tiers by time since first completion (each tier alerts). */
  | {
      kind: "tiered";
      tiers: { afterMinutes: number; minComplete: number }[];
    }
  /** One coordinator reports completion_pct; trigger when its status counts and pct >= minPct. */
  | {
      kind: "completion_pct";
      processor: string;
      minPct: number;
      exportTypes: string[];
    };

export type TriggerRuleKind = TriggerRule["kind"];

export interface TransitionConfig {
  /** e.g. "phase2-to-phase3" */
  id: string;
  fromPhase: number;
  toPhase: number;
  /** Function name without environment prefix, e.g. "phase2-to-phase3-orchestrator". */
  functionName: string;
  /** Topic suffix after the sport prefix, e.g. "phase2-raw-complete". */
  inputTopic: string;
  /** Topic suffix after the sport prefix, e.g. "phase3-trigger". */
  outputTopic: string;
  /** The `phase` value in completion messages, e.g. "phase_2_raw". */
  phaseWireName: string;
  /** Resolve CamelCase class names by normalisation (phases 3 and 4). */
  normaliseClassNames: boolean;
  processors: ProcessorDef[];
  rule: TriggerRule;
  /** A phase that has not triggered this long after its first completion is stalled (alert). */
  stallAfterMinutes: number;
  /** No trigger of this transition at all within this many hours raises an absence alert. */
  absenceAlertHours: number;
}

export interface PipelineConfig {
  /** Sport, also the topic prefix: "nba" gives "nba-phase2-raw-complete". */
  sport: string;
  /** IANA time zone the game dates are judged in. */
  timeZone: string;
  transitions: TransitionConfig[];
}

/** A transition with every name resolved (topic prefix applied, dead-letter names derived). */
export interface Transition extends TransitionConfig {
  inputTopicName: string;
  outputTopicName: string;
  deadLetterTopicName: string;
  deadLetterSubscriptionName: string;
}

export interface Pipeline {
  sport: string;
  timeZone: string;
  transitions: Transition[];
}

// Which functions this program deploys, derived from the pipeline model: one orchestrator per
// transition, plus the scheduled functions. Adding a function is one entry here (scheduled) or one
// transition in the model (orchestrators). Pure: no Pulumi, no I/O.
import type { Pipeline } from "../functions/core/pipeline-types.ts";

export type FunctionKind = "orchestrator" | "scheduled";

export interface FunctionSpec {
  /** The model's functionName: deployed name and code identity (the manifest key). */
  name: string;
  /** Short base for service-account ids (6..30 characters with the role suffix). */
  shortName: string;
  /** Entry point, relative to the project root. */
  entry: string;
  /** Functions-framework target the entry registers. */
  target: string;
  kind: FunctionKind;
  /** Orchestrators: the transition they serve. */
  transitionId?: string;
  /** Scheduled: cron expression (in the pipeline's time zone). */
  schedule?: string;
  /** Model topic names (already sport-prefixed) the function publishes to. */
  publishesTo: string[];
}

/** A scheduled function: invoked over HTTP by Cloud Scheduler with an OIDC token. */
export interface ScheduledFunctionDef {
  name: string;
  shortName: string;
  entry: string;
  target: string;
  schedule: string;
  /** "all_outputs": may (re)publish triggers of any transition (the sweeper's outbox); "none": read/alert only. */
  publishes: "all_outputs" | "none";
}

/**
 * The scheduled functions. The sweeper and reconciler join as one entry each, e.g.
 *   { name: "phase-sweeper", shortName: "sweeper", entry: "functions/scheduled/sweeper.ts",
 *     target: "sweep", schedule: "*\/10 * * * *", publishes: "all_outputs" }
 * (they are not listed until their entry points exist: an entry that does not bundle fails the program).
 */
export const SCHEDULED_FUNCTIONS: readonly ScheduledFunctionDef[] = [
  // Both may publish: the sweeper re-publishes pending triggers and latches tiers/deadlines; the
  // reconciler latches (and publishes) a trigger that a repaired completion makes due.
  { name: "phase-sweeper", shortName: "sweeper", entry: "functions/scheduled/sweeper.ts", target: "sweep", schedule: "*/10 * * * *", publishes: "all_outputs" },
  { name: "phase-reconciler", shortName: "reconciler", entry: "functions/scheduled/reconciler.ts", target: "reconcile", schedule: "17 * * * *", publishes: "all_outputs" },
];

export const ORCHESTRATOR_TARGET = "orchestrate";

export function orchestratorEntry(transitionId: string): string {
  return `functions/orchestrators/${transitionId}.ts`;
}

export function functionRegistry(pipeline: Pipeline, scheduled: readonly ScheduledFunctionDef[] = SCHEDULED_FUNCTIONS): FunctionSpec[] {
  const orchestrators = pipeline.transitions.map(
    (t): FunctionSpec => ({
      name: t.functionName,
      shortName: t.id,
      entry: orchestratorEntry(t.id),
      target: ORCHESTRATOR_TARGET,
      kind: "orchestrator",
      transitionId: t.id,
      publishesTo: [t.outputTopicName],
    }),
  );
  const allOutputs = pipeline.transitions.map((t) => t.outputTopicName);
  const scheduledSpecs = scheduled.map(
    (s): FunctionSpec => ({
      name: s.name,
      shortName: s.shortName,
      entry: s.entry,
      target: s.target,
      kind: "scheduled",
      schedule: s.schedule,
      publishesTo: s.publishes === "all_outputs" ? allOutputs : [],
    }),
  );
  const specs = [...orchestrators, ...scheduledSpecs];
  const names = specs.map((s) => s.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new Error(`two functions are named ${JSON.stringify(dup)}`);
  return specs;
}

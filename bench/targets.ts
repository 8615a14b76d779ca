// The four targets of the bench, judged from one report, and the JSON paths a report must carry. Pure.
import type { BenchReport } from "./report.ts";

/** Each target's limit (ratios are to the floor each target names). */
export const TARGET_LIMITS = {
  coldStartVsEmptyFunction: 1.5,
  dmlPerTriggeredPhase: 1,
  handlerVsTransactionPlusPublish: 1.5,
} as const;

export interface TargetVerdict {
  id: "cold_start" | "dml_per_triggered_phase" | "bursts_across_instances" | "handler_latency";
  target: string;
  /** null: the section did not run. */
  met: boolean | null;
  /** The figures the verdict rests on (null where the section did not run or a ratio has no floor). */
  figures: Record<string, number | boolean | null>;
}

const within = (v: number | null | undefined, limit: number): boolean | null => (v === null || v === undefined || !Number.isFinite(v) ? null : v <= limit);
const allOf = (xs: (boolean | null)[]): boolean | null => (xs.some((x) => x === null) ? null : xs.every(Boolean));

export function judgeTargets(r: BenchReport): TargetVerdict[] {
  const cold = r.coldStart?.functions.find((f) => f.kind === "orchestrator") ?? r.coldStart?.functions[0];
  const coldRatio = cold?.vsFramework.bundle ?? null;
  const ops = r.operations?.gameDay;
  const worstDml = r.operations ? Math.max(...r.operations.transitions.map((t) => t.perTriggeredPhase.bigqueryDml)) : null;
  const runs = r.latency?.handlerRuns;
  const bursts = r.bursts?.runs ?? null;
  return [
    {
      id: "cold_start",
      target: `orchestrator's first answered completion <= ${TARGET_LIMITS.coldStartVsEmptyFunction}x the empty function on the framework`,
      met: cold ? within(coldRatio, TARGET_LIMITS.coldStartVsEmptyFunction) : null,
      figures: {
        vsEmptyFunction: coldRatio,
        firstResponseMs: cold?.variants.bundle?.firstResponseMs ?? null,
        emptyFunctionMs: r.coldStart?.floors.frameworkOnly.firstResponseMs ?? null,
        rssMiB: cold?.variants.bundle?.rssMiB ?? null,
      },
    },
    {
      id: "dml_per_triggered_phase",
      target: `<= ${TARGET_LIMITS.dmlPerTriggeredPhase} DML statement per triggered phase (counted as the BigQuery fake executed them)`,
      met: worstDml === null ? null : worstDml <= TARGET_LIMITS.dmlPerTriggeredPhase,
      figures: {
        worstTransitionDmlPerTriggeredPhase: worstDml,
        dmlPerTriggeredPhase: ops?.dmlPerTriggeredPhase ?? null,
        dmlPerCompletion: ops?.dmlPerCompletion ?? null,
      },
    },
    {
      id: "bursts_across_instances",
      target: "bursts across instances: every (transition, date) triggered exactly once, nothing dead-lettered, time vs the serialized floor",
      met: bursts === null ? null : bursts.every((b) => b.exactlyOne === b.expectedTriggers && b.duplicates.length === 0 && b.deadLettered === 0 && !b.cutOff),
      figures: Object.fromEntries(
        (bursts ?? []).flatMap((b) => [
          [`${b.kind}VsSerializedFloor`, b.vsSerializedFloor],
          [`${b.kind}ExactlyOne`, b.exactlyOne === b.expectedTriggers],
          [`${b.kind}DeadLettered`, b.deadLettered],
        ]),
      ),
    },
    {
      id: "handler_latency",
      target: `handler p50 <= ${TARGET_LIMITS.handlerVsTransactionPlusPublish}x the bare transaction + publish, recording and triggering, with BigQuery's DML duration`,
      met: runs ? allOf([within(runs.realisticDml.recordOnlyVsFloor, TARGET_LIMITS.handlerVsTransactionPlusPublish), within(runs.realisticDml.triggeringVsFloor, TARGET_LIMITS.handlerVsTransactionPlusPublish)]) : null,
      figures: {
        recordOnlyVsFloor: runs?.realisticDml.recordOnlyVsFloor ?? null,
        triggeringVsFloor: runs?.realisticDml.triggeringVsFloor ?? null,
        recordOnlyVsFloorInstantDml: runs?.instantDml.recordOnlyVsFloor ?? null,
        triggeringVsFloorInstantDml: runs?.instantDml.triggeringVsFloor ?? null,
        dmlDurationMs: runs?.realisticDml.dmlDurationMs ?? null,
      },
    },
  ];
}

/**
 * What a full report's JSON must carry (dotted paths; `[]` = every element of an array). The smoke
 * test checks a real --quick report against it; the pure test checks the list against a fixture.
 */
export const REPORT_JSON_PATHS = [
  "machine.loadAverageStart",
  "coldStart.floors.frameworkOnly.firstResponseMs",
  "coldStart.floors.frameworkOnly.rssMiB",
  "coldStart.functions[].variants.bundle.firstResponseMs",
  "coldStart.functions[].variants.bundle.rssMiB",
  "coldStart.functions[].vsFramework.bundle",
  "latency.floor.transactionPlusPublish.p50",
  "latency.handlerRuns.realisticDml.dmlDurationMs",
  "latency.handlerRuns.realisticDml.recordOnlyVsFloor",
  "latency.handlerRuns.realisticDml.triggeringVsFloor",
  "latency.handlerRuns.realisticDml.breakdown.triggering.bigqueryDmlMs",
  "latency.handlerRuns.instantDml.recordOnlyVsFloor",
  "latency.handlerRuns.instantDml.triggeringVsFloor",
  "operations.transitions[].perCompletion.bigqueryDml",
  "operations.transitions[].perCompletion.firestoreReads",
  "operations.transitions[].perCompletion.firestoreWrites",
  "operations.transitions[].perTriggeredPhase.bigqueryDml",
  "operations.transitions[].perTriggeredPhase.bigqueryInsertRows",
  "operations.gameDay.dmlPerCompletion",
  "operations.gameDay.dmlPerTriggeredPhase",
  "operations.gameDay.oursCostUsd",
  "operations.gameDay.beforeCostUsd",
  "operations.gameDay.oursCostShares.bigqueryDml",
  "operations.gameDay.beforeCostShares.bigqueryDml",
  "bursts.runs[].vsSerializedFloor",
  "bursts.runs[].exactlyOne",
  "bursts.runs[].deadLettered",
  "targets[].met",
] as const;

/** The paths of REPORT_JSON_PATHS missing from a parsed report (a value of null counts as present). */
export function missingJsonPaths(report: unknown, paths: readonly string[] = REPORT_JSON_PATHS): string[] {
  const has = (value: unknown, parts: string[]): boolean => {
    if (parts.length === 0) return value !== undefined;
    const [head, ...rest] = parts as [string, ...string[]];
    if (head.endsWith("[]")) {
      const arr = (value as Record<string, unknown> | null)?.[head.slice(0, -2)];
      return Array.isArray(arr) && arr.length > 0 && arr.every((el) => has(el, rest));
    }
    if (value === null || typeof value !== "object" || !(head in value)) return false;
    return has((value as Record<string, unknown>)[head], rest);
  };
  return paths.filter((p) => !has(report, p.split(".")));
}

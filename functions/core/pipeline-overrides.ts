// Per-stack overrides of the pipeline model: their shape, the merge onto the defaults, and every
// problem of the merged config pointed at the override that caused it. Pure.
import { z } from "zod";
import type { PipelineConfig } from "./pipeline-types.ts";
import { configProblems, parsePipelineConfig } from "./pipeline-checks.ts";
import { formatProblem, PipelineConfigError, requiredErrorMap, zodIssuesToProblems } from "./pipeline-problems.ts";
import type { ConfigProblem } from "./pipeline-problems.ts";
import { nonEmpty, PipelineConfigSchema, transitionFields } from "./pipeline-schema.ts";
import { formatPath } from "./zod-issues.ts";

const TransitionOverrideSchema = z.strictObject({
  fromPhase: transitionFields.fromPhase.optional(),
  toPhase: transitionFields.toPhase.optional(),
  functionName: transitionFields.functionName.optional(),
  inputTopic: transitionFields.inputTopic.optional(),
  outputTopic: transitionFields.outputTopic.optional(),
  phaseWireName: transitionFields.phaseWireName.optional(),
  normaliseClassNames: transitionFields.normaliseClassNames.optional(),
  processors: transitionFields.processors.optional(),
  // Merged shallowly into the base rule; the merged rule is validated with everything else.
  rule: z.record(z.string(), z.unknown()).optional(),
  stallAfterMinutes: transitionFields.stallAfterMinutes.optional(),
  absenceAlertHours: transitionFields.absenceAlertHours.optional(),
});

const PipelineOverridesSchema = z.strictObject({
  sport: nonEmpty.optional(),
  timeZone: nonEmpty.optional(),
  transitions: z.record(z.string(), TransitionOverrideSchema).optional(),
});

export type TransitionOverride = z.infer<typeof TransitionOverrideSchema>;
export type PipelineOverrides = z.infer<typeof PipelineOverridesSchema>;

const prefixed = (p: ConfigProblem): ConfigProblem => ({
  path: p.path === "(root)" ? "overrides" : `overrides${p.path.startsWith("[") ? "" : "."}${p.path}`,
  message: p.message,
});

/**
 * Points a problem of the merged config at the override that caused it, when an override set
 * that field (`transitions[1].rule.majorityPct` -> `overrides.transitions["phase3-to-phase4"].rule.majorityPct`).
 */
function blameOverride(problem: ConfigProblem, base: PipelineConfig, overrides: PipelineOverrides): ConfigProblem {
  for (const key of ["sport", "timeZone"] as const) {
    if (overrides[key] !== undefined && (problem.path === key || problem.path.startsWith(`${key}.`))) {
      return { ...problem, path: `overrides.${problem.path}` };
    }
  }
  const match = /^transitions\[(\d+)\]\.([A-Za-z]+)(.*)$/.exec(problem.path);
  if (!match) return problem;
  const [, index, field, rest] = match;
  const id = base.transitions[Number(index)]?.id;
  const override = id === undefined ? undefined : overrides.transitions?.[id];
  if (id === undefined || override === undefined || field === undefined) return problem;
  if (!(field in override)) return problem;
  if (field === "rule") {
    // Only blame the override for rule keys it actually set.
    const ruleKey = /^\.([A-Za-z]+)/.exec(rest ?? "")?.[1];
    if (ruleKey === undefined || override.rule === undefined || !(ruleKey in override.rule)) return problem;
  }
  return { ...problem, path: `${formatPath(["overrides", "transitions", id, field])}${rest ?? ""}` };
}

/**
 * Applies per-stack overrides `{ sport?, timeZone?, transitions?: { [id]: partial transition } }`:
 * `processors` replaces the list, `rule` merges shallowly by key. Throws a PipelineConfigError
 * naming the override path for a bad override (unknown key, unknown transition id, wrong type)
 * and for a merged config that is invalid.
 */
export function applyPipelineOverrides(base: PipelineConfig, overrides: unknown): PipelineConfig {
  if (overrides === undefined || overrides === null) return parsePipelineConfig(structuredClone(base));
  const shape = PipelineOverridesSchema.safeParse(overrides, { error: requiredErrorMap });
  const shapeProblems = shape.success ? [] : zodIssuesToProblems(shape.error.issues).map(prefixed);
  // Unknown ids are reported together with any shape problems: one round trip fixes everything.
  const rawTransitions = (overrides as { transitions?: unknown }).transitions;
  const overriddenIds =
    rawTransitions !== null && typeof rawTransitions === "object" && !Array.isArray(rawTransitions) ? Object.keys(rawTransitions) : [];
  const knownIds = new Set(base.transitions.map((t) => t.id));
  const unknownIdProblems = overriddenIds
    .filter((id) => !knownIds.has(id))
    .map((id) => ({
      path: formatPath(["overrides", "transitions", id]),
      message: `unknown transition id "${id}" (known: ${[...knownIds].join(", ")})`,
    }));
  const overrideProblems = [...unknownIdProblems, ...shapeProblems];
  if (!shape.success || overrideProblems.length > 0) {
    throw new PipelineConfigError("invalid pipeline overrides", overrideProblems.map(formatProblem));
  }
  const ov = shape.data;

  const merged = structuredClone({
    sport: ov.sport ?? base.sport,
    timeZone: ov.timeZone ?? base.timeZone,
    transitions: base.transitions.map((t) => {
      const o = ov.transitions?.[t.id];
      if (o === undefined) return t;
      const { rule, ...fields } = o;
      const definedFields = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
      return { ...t, ...definedFields, rule: rule === undefined ? t.rule : { ...t.rule, ...rule } };
    }),
  });
  const problems = configProblems(merged);
  if (problems.length > 0) {
    throw new PipelineConfigError(
      "invalid pipeline config after overrides",
      problems.map((p) => formatProblem(blameOverride(p, base, ov))),
    );
  }
  return PipelineConfigSchema.parse(merged);
}

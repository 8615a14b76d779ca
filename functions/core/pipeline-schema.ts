// The shape of a pipeline config (zod). Strict objects: an unknown key in configuration is almost
// always a typo. What the values mean is checked in pipeline-checks.ts. Pure.
import { z } from "zod";

export const nonEmpty = z.string().min(1);
const positiveMinutes = z.number().positive();

const ProcessorDefSchema = z.strictObject({
  name: nonEmpty,
  aliases: z.array(nonEmpty),
  outputTables: z.array(nonEmpty),
});

const ModeSetsSchema = z.strictObject({
  expected: z.array(nonEmpty),
  critical: z.array(nonEmpty),
  optional: z.array(nonEmpty),
});

const TriggerRuleSchema = z.discriminatedUnion("kind", [
  z.strictObject({
    kind: z.literal("all_complete"),
    deadline: z.strictObject({
      enabled: z.boolean(),
      afterFirstCompletionMinutes: positiveMinutes,
      critical: z.array(nonEmpty),
    }),
  }),
  z.strictObject({
    kind: z.literal("mode_aware"),
    majorityPct: z.number(),
    modes: z.strictObject({
      overnight: ModeSetsSchema,
      same_day: ModeSetsSchema,
      tomorrow: ModeSetsSchema,
    }),
  }),
  z.strictObject({
    kind: z.literal("tiered"),
    tiers: z.array(z.strictObject({ afterMinutes: z.number(), minComplete: z.number().int() })),
  }),
  z.strictObject({
    kind: z.literal("completion_pct"),
    processor: nonEmpty,
    minPct: z.number(),
    exportTypes: z.array(nonEmpty),
  }),
]);

export const transitionFields = {
  id: nonEmpty,
  fromPhase: z.number().int().nonnegative(),
  toPhase: z.number().int().nonnegative(),
  functionName: nonEmpty,
  inputTopic: nonEmpty,
  outputTopic: nonEmpty,
  phaseWireName: nonEmpty,
  normaliseClassNames: z.boolean(),
  processors: z.array(ProcessorDefSchema).min(1),
  rule: TriggerRuleSchema,
  stallAfterMinutes: positiveMinutes,
  absenceAlertHours: z.number().positive(),
};

const TransitionConfigSchema = z.strictObject(transitionFields);

export const PipelineConfigSchema = z.strictObject({
  sport: nonEmpty,
  timeZone: nonEmpty,
  transitions: z.array(TransitionConfigSchema).min(1),
});

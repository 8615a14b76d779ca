// The PIPELINE_CONFIG round trip: infra serialises the stack's pipeline into every function's
// environment, the function reads and validates it back. Pure.
import type { Pipeline, PipelineConfig, TransitionConfig } from "./pipeline-types.ts";
import { validatePipelineConfig } from "./pipeline-checks.ts";
import { resolvePipeline } from "./pipeline-names.ts";
import { PipelineConfigError } from "./pipeline-problems.ts";
import { ConfigurationError } from "./error-family.ts";
import { PipelineConfigSchema } from "./pipeline-schema.ts";

/** The environment variable through which infra hands the pipeline to every function. */
export const PIPELINE_CONFIG_ENV = "PIPELINE_CONFIG";

function configOf(t: TransitionConfig): TransitionConfig {
  return {
    id: t.id,
    fromPhase: t.fromPhase,
    toPhase: t.toPhase,
    functionName: t.functionName,
    inputTopic: t.inputTopic,
    outputTopic: t.outputTopic,
    phaseWireName: t.phaseWireName,
    normaliseClassNames: t.normaliseClassNames,
    processors: t.processors,
    rule: t.rule,
    stallAfterMinutes: t.stallAfterMinutes,
    absenceAlertHours: t.absenceAlertHours,
  };
}

/** JSON for PIPELINE_CONFIG. Accepts a resolved Pipeline too: derived names are dropped (they are re-derived). */
export function serializePipeline(p: PipelineConfig): string {
  return JSON.stringify({ sport: p.sport, timeZone: p.timeZone, transitions: p.transitions.map(configOf) });
}

/** Reads the pipeline a function was deployed with; missing or invalid -> throws naming the variable. */
export function pipelineFromEnv(value: string | undefined): Pipeline {
  if (value === undefined || value.trim() === "") {
    throw new ConfigurationError(`${PIPELINE_CONFIG_ENV} is not set: the function needs the pipeline config as JSON`);
  }
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch (error) {
    throw new ConfigurationError(`${PIPELINE_CONFIG_ENV} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  const problems = validatePipelineConfig(json);
  if (problems.length > 0) throw new PipelineConfigError(`${PIPELINE_CONFIG_ENV} holds an invalid pipeline config`, problems);
  return resolvePipeline(PipelineConfigSchema.parse(json));
}

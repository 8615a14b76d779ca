// The pipeline model, the entry every caller imports: validation (shape + meaning), per-stack
// overrides, name resolution and the PIPELINE_CONFIG round trip between infra and the functions,
// each in its own module here. Pure: no I/O, no cloud clients.
import { DEFAULT_PIPELINE } from "./pipeline-defaults.ts";
import type { Pipeline } from "./pipeline-types.ts";
import { resolvePipeline } from "./pipeline-names.ts";
import { applyPipelineOverrides } from "./pipeline-overrides.ts";

export { modelFunctionNameProblem, parsePipelineConfig, validatePipelineConfig } from "./pipeline-checks.ts";
export { pushSubscriptionName, resolvePipeline, transitionById } from "./pipeline-names.ts";
export { applyPipelineOverrides } from "./pipeline-overrides.ts";
export type { PipelineOverrides, TransitionOverride } from "./pipeline-overrides.ts";
export { PipelineConfigError, zodIssuesToProblems } from "./pipeline-problems.ts";
export type { ConfigProblem } from "./pipeline-problems.ts";
export { PIPELINE_CONFIG_ENV, pipelineFromEnv, serializePipeline } from "./pipeline-serialize.ts";
export { formatPath } from "./zod-issues.ts";

/** The pipeline of a stack: defaults + overrides, validated, resolved. */
export function loadPipeline(overrides?: unknown): Pipeline {
  return resolvePipeline(applyPipelineOverrides(DEFAULT_PIPELINE, overrides));
}

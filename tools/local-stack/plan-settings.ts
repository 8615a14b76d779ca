// What the local stack reads from the declared functions' environment (pure): the pipeline, the
// Firestore prefix, the trigger mode, the dataset and each transition's orchestrator.
import { pipelineFromEnv } from "../../functions/core/pipeline.ts";
import type { Pipeline } from "../../functions/core/pipeline-types.ts";
import { RUNTIME_ENV_KEYS } from "../../functions/core/runtime-env.ts";
import { DEFAULT_TRIGGER_MODE, isTriggerMode, type TriggerMode } from "../../functions/core/trigger-routing.ts";
import type { LocalPlan } from "./declared.ts";
import { MisconfiguredFunctionError } from "./stack-types.ts";

export interface PlanSettings {
  pipeline: Pipeline;
  firestorePrefix: string;
  triggerMode: TriggerMode;
  datasetId: string;
  /** Deployed function name of each transition's orchestrator (from its TRANSITION_ID). */
  orchestrators: Map<string, string>;
}

export function settingsOfPlan(plan: LocalPlan): PlanSettings {
  const orchestrators = new Map<string, string>();
  for (const f of plan.functions) {
    const t = f.environment[RUNTIME_ENV_KEYS.transitionId];
    if (t !== undefined) orchestrators.set(t, f.name);
  }
  const withPipeline = plan.functions.find((f) => f.environment[RUNTIME_ENV_KEYS.pipelineConfig] !== undefined);
  if (withPipeline === undefined) throw new MisconfiguredFunctionError([`no declared function has ${RUNTIME_ENV_KEYS.pipelineConfig}: nothing to run a game day with`]);
  const declaredMode = withPipeline.environment[RUNTIME_ENV_KEYS.triggerMode];
  return {
    pipeline: pipelineFromEnv(withPipeline.environment[RUNTIME_ENV_KEYS.pipelineConfig]!),
    firestorePrefix: withPipeline.environment[RUNTIME_ENV_KEYS.firestorePrefix] ?? "",
    triggerMode: isTriggerMode(declaredMode) ? declaredMode : DEFAULT_TRIGGER_MODE,
    datasetId: withPipeline.environment[RUNTIME_ENV_KEYS.bigqueryDataset] ?? plan.datasets[0]?.datasetId ?? "",
    orchestrators,
  };
}

// The adoption plan of a named stack: reads its config the way `npm run plan` does, evaluates the
// program under the mocks and plans the import (tools/adopt/plan.ts).
import * as path from "node:path";
import { loadPipeline } from "../../functions/core/pipeline.ts";
import { parseStackConfig } from "../../infra/stack-config.ts";
import { evaluateStack } from "../plan/evaluate.ts";
import type { PlanResult } from "../plan/evaluate.ts";
import { readStackFiles } from "../plan/stack-files.ts";
import { EXISTING_SYSTEM_KEY, existingSystemFor } from "./existing.ts";
import { planAdoption, type AdoptPlan } from "./plan.ts";

const ROOT = path.resolve(import.meta.dirname, "..", "..");

/** The plan for `stack`; pass an evaluation already at hand to skip evaluating again. */
export async function adoptionPlanFor(stack: string, evaluated?: PlanResult): Promise<AdoptPlan> {
  const files = readStackFiles(ROOT, stack);
  const config = parseStackConfig(files.config);
  const pipeline = loadPipeline(config.pipelineOverrides);
  const existing = existingSystemFor(pipeline, config.bigquery.datasetId, files.config[EXISTING_SYSTEM_KEY]);
  const result = evaluated ?? (await evaluateStack(stack));
  return planAdoption(result.resources, { stack, project: config.project, region: config.region, pipeline, existing });
}

// Shared by the infra suites: one evaluation per stack per process (the bundles are cached by input
// digest, so three stacks bundle each function once), and lookups over the declared resources.
import { cp, mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { loadPipeline } from "../../functions/core/pipeline.ts";
import type { Pipeline } from "../../functions/core/pipeline-types.ts";
import { RESOURCE_TYPES } from "../../functions/core/resource-types.ts";
import { parseStackConfig } from "../../infra/stack-config.ts";
import type { StackConfig } from "../../infra/stack-config.ts";
import { evaluateStack } from "../../tools/plan/evaluate.ts";
import type { PlanResult } from "../../tools/plan/evaluate.ts";
import type { DeclaredResource } from "../../tools/plan/mocks.ts";
import { readStackFiles } from "../../tools/plan/stack-files.ts";

export const ROOT = path.resolve(import.meta.dirname, "..", "..");
export const STACKS = ["dev", "staging", "prod"] as const;

const plans = new Map<string, Promise<PlanResult>>();
export function planOf(stack: string): Promise<PlanResult> {
  let p = plans.get(stack);
  if (p === undefined) {
    p = evaluateStack(stack);
    plans.set(stack, p);
  }
  return p;
}

/** The stack's validated config and pipeline, read independently of the program. */
export function stackModel(stack: string): { config: StackConfig; pipeline: Pipeline } {
  const config = parseStackConfig(readStackFiles(ROOT, stack).config);
  return { config, pipeline: loadPipeline(config.pipelineOverrides) };
}

/** Resource type tokens (functions/core/resource-types.ts). */
export const T = RESOURCE_TYPES;

export function ofType(plan: PlanResult, type: string): DeclaredResource[] {
  return plan.resources.filter((r) => r.type === type);
}

/** Exactly one resource of `type` matching `pred`; fails with a description otherwise. */
export function one(plan: PlanResult, type: string, pred: (inputs: Record<string, unknown>) => boolean, what: string): DeclaredResource {
  const found = ofType(plan, type).filter((r) => pred(r.inputs));
  if (found.length !== 1) throw new Error(`expected exactly one ${type} (${what}), found ${found.length}`);
  return found[0]!;
}

/** The mocks' email formula for a declared service account. */
export function accountEmail(project: string, account: DeclaredResource): string {
  return `${String(account.inputs.accountId)}@${project}.iam.gserviceaccount.com`;
}

/** A throwaway copy of the sources (functions/, package files, tsconfig) with node_modules linked. */
export async function tempProjectCopy(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), "infra-copy-"));
  for (const entry of ["functions", "package.json", "package-lock.json", "tsconfig.json"]) {
    await cp(path.join(ROOT, entry), path.join(dir, entry), { recursive: true });
  }
  await symlink(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

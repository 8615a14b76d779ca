// Evaluates the Pulumi program for one stack under the mock runtime and returns what it declares.
// The mocks are installed BEFORE the program module is imported (index.ts imports @pulumi/gcp,
// whose providers read the runtime settings), and the config is fed the way the language host
// feeds it: PULUMI_CONFIG / PULUMI_CONFIG_SECRET_KEYS through pulumi.runtime.setAllConfig.
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import * as pulumi from "@pulumi/pulumi";
import type { ProgramOptions } from "../../index.ts";
import { RecordingMocks } from "./mocks.ts";
import type { DeclaredResource } from "./mocks.ts";
import { withPulumiRuntime } from "./sdk-lock.ts";
import { readStackFiles, SECRET_PLACEHOLDER } from "./stack-files.ts";

export interface PlanResult {
  stack: string;
  resources: DeclaredResource[];
  outputs: Record<string, unknown>;
  /** Secret config keys that were placeholders. */
  placeholders: string[];
}

export interface EvaluateOptions {
  /** Where Pulumi.yaml and the stack files are (default: the project root). */
  configDir?: string;
  /** Entry module of the program (default: <project root>/index.ts). */
  programFile?: string;
  program?: ProgramOptions;
}

const PROJECT_ROOT = path.resolve(import.meta.dirname, "..", "..");

function resolved<T>(o: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => {
    o.apply((v) => {
      resolve(v);
      return v;
    });
  });
}

/** Stack outputs as plain JSON, secrets as "[secret]". */
async function plainOutputs(value: unknown): Promise<unknown> {
  if (pulumi.Output.isInstance(value)) {
    if (await pulumi.isSecret(value)) return SECRET_PLACEHOLDER;
    return plainOutputs(await resolved(value));
  }
  if (Array.isArray(value)) return Promise.all(value.map(plainOutputs));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = await plainOutputs(v);
    return out;
  }
  return value;
}

const isAsset = (v: unknown): boolean => pulumi.asset.Asset.isInstance(v) || pulumi.asset.Archive.isInstance(v);

/** A value the mock runtime handed over still wrapped as a secret (nested secrets keep their signature). */
const isSecretValue = (v: unknown): boolean =>
  v !== null && typeof v === "object" && (v as Record<string, unknown>)[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig;

/** Inputs as plain JSON: secrets as "[secret]", assets as {"asset": "FileAsset", "path": <relative to the project root>}. */
async function plainAssets(value: unknown, rootDir: string): Promise<unknown> {
  if (isSecretValue(value)) return SECRET_PLACEHOLDER;
  if (isAsset(value)) {
    const o = value as Record<string, unknown>;
    const out: Record<string, unknown> = { asset: (value as object).constructor.name };
    for (const key of ["path", "uri", "text"]) {
      if (key in o) {
        const v = await (o[key] as Promise<unknown>);
        out[key] = key === "path" && typeof v === "string" ? path.relative(rootDir, v).split(path.sep).join("/") : v;
      }
    }
    return out;
  }
  if (Array.isArray(value)) return Promise.all(value.map((v) => plainAssets(v, rootDir)));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = await plainAssets(v, rootDir);
    return out;
  }
  return value;
}

// One evaluation at a time in the process, whichever tool asks (sdk-lock.ts).
export function evaluateStack(stack: string, options: EvaluateOptions = {}): Promise<PlanResult> {
  return withPulumiRuntime(() => evaluateNow(stack, options));
}

async function evaluateNow(stack: string, options: EvaluateOptions): Promise<PlanResult> {
  const files = readStackFiles(options.configDir ?? PROJECT_ROOT, stack);
  const project = files.config["gcp:project"] ?? "unknown-project";
  const region = files.config["gcp:region"] ?? "unknown-region";
  const mocks = new RecordingMocks(project, region);

  pulumi.runtime.setAllConfig(files.config, files.secretKeys);
  await pulumi.runtime.setMocks(mocks, files.project, stack, false);
  // URNs, parents and dependencies too, so tests can check what waits for what.
  mocks.recordRegistrations(pulumi.runtime.getMonitor());

  const programFile = options.programFile ?? path.join(PROJECT_ROOT, "index.ts");
  const mod = (await import(pathToFileURL(programFile).href)) as { default: (o?: ProgramOptions) => Promise<Record<string, unknown>> };
  let returned: Record<string, unknown> = {};
  await pulumi.runtime.runInPulumiStack(async () => {
    returned = await mod.default(options.program);
    return returned;
  });
  const outputs = (await plainOutputs(returned)) as Record<string, unknown>;
  // Wait for every outstanding registration, so the inventory is complete.
  await pulumi.runtime.disconnect();
  const rootDir = options.program?.rootDir ?? PROJECT_ROOT;
  const resources = await Promise.all(
    mocks.resources.map(async (r) => ({ ...r, inputs: (await plainAssets(r.inputs, rootDir)) as Record<string, unknown> })),
  );
  return { stack, resources, outputs, placeholders: files.placeholders };
}

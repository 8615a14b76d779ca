// Evaluates the Pulumi program for one stack under the mock runtime and captures every resource
// registration the way the policy engine sees it: URN, parent, dependencies, property
// dependencies, inputs (what `Analyze` gets) and outputs (what `AnalyzeStack` gets).
//
// The mocks' newResource() does not see parents or dependencies, so the capture wraps the mock
// monitor's registerResource and reads the request itself. With `preview: true` the evaluation is a
// dry run in which every output the provider would compute (ids, emails, URLs, service names) is
// unknown, as in a real `pulumi preview`: inputs computed from them arrive as unknowns.
import { createRequire } from "node:module";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import * as pulumi from "@pulumi/pulumi";
import type { ProgramOptions } from "../../index.ts";
import { RecordingMocks } from "./mocks.ts";
import { withPulumiRuntime } from "./sdk-lock.ts";
import { readStackFiles } from "./stack-files.ts";

export interface RegisteredResource {
  urn: string;
  type: string;
  name: string;
  custom: boolean;
  parent?: string;
  dependencies: string[];
  propertyDependencies: Record<string, string[]>;
  protect: boolean;
  /** Inputs as the engine passes them to Analyze (secrets unwrapped, unknowns as the SDK's sentinels). */
  inputs: Record<string, unknown>;
  /** Outputs as the engine passes them to AnalyzeStack. */
  outputs: Record<string, unknown>;
}

export interface CapturedStack {
  stack: string;
  /** The stack's `environment` config (dev, staging, prod). */
  environment: string | undefined;
  preview: boolean;
  resources: RegisteredResource[];
}

export interface CaptureOptions {
  /** Dry run with computed outputs unknown (default false: every output known, as after an update). */
  preview?: boolean;
  configDir?: string;
  programFile?: string;
  program?: ProgramOptions;
}

const PROJECT_ROOT = path.resolve(import.meta.dirname, "..", "..");
const requireHere = createRequire(import.meta.url);

// The policy SDK's own deserializer (internal, untyped): the same conversion the analyzer applies.
interface StructLike {
  toJavaScript(): Record<string, unknown>;
}
const { deserializeProperties } = requireHere("@pulumi/policy/deserialize.js") as {
  deserializeProperties(struct: StructLike, proxySecrets: boolean): Record<string, unknown>;
};

/** The engine's sentinel for an unknown value (@pulumi/pulumi runtime/rpc unknownValue). */
const UNKNOWN_VALUE = (requireHere("@pulumi/pulumi/runtime/rpc.js") as { unknownValue: string }).unknownValue;

// The parts of the monitor's gRPC messages the capture reads.
interface RegisterRequest {
  getType(): string;
  getName(): string;
  getCustom(): boolean;
  getParent(): string;
  getProtect(): boolean;
  getDependenciesList(): string[];
  getPropertydependenciesMap(): { entries(): Iterable<[string, { getUrnsList(): string[] }]> } | undefined;
  getObject(): StructLike | undefined;
}
interface RegisterResponse {
  getUrn(): string;
  getObject(): StructLike | undefined;
}
type Callback = (err: unknown, resp?: RegisterResponse) => void;
interface MonitorLike {
  registerResource(req: RegisterRequest, callback: Callback): unknown;
}

const EMPTY_STRUCT: StructLike = { toJavaScript: () => ({}) };

function record(req: RegisterRequest, resp: RegisterResponse): RegisteredResource {
  const propertyDependencies: Record<string, string[]> = {};
  for (const [key, deps] of req.getPropertydependenciesMap()?.entries() ?? []) propertyDependencies[key] = deps.getUrnsList();
  const parent = req.getParent();
  return {
    urn: resp.getUrn(),
    type: req.getType(),
    name: req.getName(),
    custom: req.getCustom(),
    ...(parent === "" ? {} : { parent }),
    dependencies: req.getDependenciesList(),
    propertyDependencies,
    protect: req.getProtect(),
    inputs: deserializeProperties(req.getObject() ?? EMPTY_STRUCT, false),
    outputs: deserializeProperties(resp.getObject() ?? EMPTY_STRUCT, false),
  };
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype;

/** The state a preview would plan: the inputs, and every property only the provider computes as unknown. */
export function plannedState(state: Record<string, unknown>, inputs: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(state)) {
    if (!(key in inputs)) out[key] = UNKNOWN_VALUE;
    else if (isPlainObject(value) && isPlainObject(inputs[key])) out[key] = plannedState(value, inputs[key]);
    else out[key] = inputs[key];
  }
  return out;
}

/** RecordingMocks, with computed outputs unknown in a preview. */
class PlanningMocks implements pulumi.runtime.Mocks {
  constructor(
    private readonly inner: RecordingMocks,
    private readonly preview: boolean,
  ) {}

  newResource(args: pulumi.runtime.MockResourceArgs): { id: string | undefined; state: Record<string, unknown> } {
    const known = this.inner.newResource(args);
    if (!this.preview) return known;
    // An empty id is an unknown id in a dry run.
    return { id: "", state: plannedState(known.state, args.inputs as Record<string, unknown>) };
  }

  call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
    return this.inner.call(args);
  }
}

// One evaluation at a time in the process, whichever tool asks (sdk-lock.ts).
export function captureStack(stack: string, options: CaptureOptions = {}): Promise<CapturedStack> {
  return withPulumiRuntime(() => captureNow(stack, options));
}

async function captureNow(stack: string, options: CaptureOptions): Promise<CapturedStack> {
  const preview = options.preview ?? false;
  const files = readStackFiles(options.configDir ?? PROJECT_ROOT, stack);
  const mocks = new PlanningMocks(new RecordingMocks(files.config["gcp:project"] ?? "unknown-project", files.config["gcp:region"] ?? "unknown-region"), preview);

  pulumi.runtime.setAllConfig(files.config, files.secretKeys);
  await pulumi.runtime.setMocks(mocks, files.project, stack, preview);

  const resources: RegisteredResource[] = [];
  const monitor = pulumi.runtime.getMonitor() as unknown as MonitorLike | undefined;
  if (monitor === undefined) throw new Error("the mock runtime has no resource monitor");
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, callback) =>
    register(req, (err, resp) => {
      if (err === null || err === undefined) {
        if (resp !== undefined) resources.push(record(req, resp));
      }
      callback(err, resp);
    });

  const programFile = options.programFile ?? path.join(PROJECT_ROOT, "index.ts");
  const mod = (await import(pathToFileURL(programFile).href)) as { default: (o?: ProgramOptions) => Promise<Record<string, unknown>> };
  await pulumi.runtime.runInPulumiStack(() => mod.default(options.program));
  await pulumi.runtime.disconnect();
  return { stack, environment: files.config[`${files.project}:environment`], preview, resources };
}

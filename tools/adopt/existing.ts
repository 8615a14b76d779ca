// What the existing system already holds in a stack's project, by physical name. By default: the
// names the pipeline model and the stack config define (the program reuses the existing system's
// names), i.e. every transition's input and output topic, the BigQuery dataset and its tables, the
// (default) Firestore database and every transition's function. A stack may override or extend this
// with the structured config key `phase-orchestration:existingSystem` (read by this tool only; the
// program never reads it):
//
//   phase-orchestration:existingSystem:
//     topics: [...]              # replaces the default list of that kind
//     add: { topics: [...] }     # extends it
//     functions:                 # a name, or how the old function is deployed
//       - { name: phase2-to-phase3-orchestrator, generation: 1, trigger: event }
//
// Old functions are assumed 2nd gen and event-triggered (Eventarc) unless said otherwise. Pure.
import { z } from "zod";
import type { Pipeline } from "../../functions/core/pipeline-types.ts";
import { ORCHESTRATION_TABLES } from "../../functions/core/tables.ts";
import { formatIssues } from "../../functions/core/zod-issues.ts";

export const EXISTING_SYSTEM_KEY = "phase-orchestration:existingSystem";

/** How an existing function is deployed: decides whether ours can adopt it or must replace it. */
export interface ExistingFunction {
  name: string;
  /** Cloud Functions generation. */
  generation: 1 | 2;
  /** "event": an event trigger (Eventarc for 2nd gen, a Pub/Sub trigger for 1st gen); "http": plain HTTP. */
  trigger: "event" | "http";
}

export interface ExistingSystem {
  topics: string[];
  datasetId: string | undefined;
  tables: string[];
  firestoreDatabases: string[];
  functions: ExistingFunction[];
}

/** The default assumption about an old function: 2nd gen behind an Eventarc Pub/Sub trigger. */
export const DEFAULT_EXISTING_FUNCTION: Omit<ExistingFunction, "name"> = { generation: 2, trigger: "event" };

const names = z.array(z.string().min(1));
const functionEntry = z.union([
  z.string().min(1),
  z.strictObject({ name: z.string().min(1), generation: z.union([z.literal(1), z.literal(2)]).optional(), trigger: z.enum(["event", "http"]).optional() }),
]);
const kinds = {
  topics: names.optional(),
  tables: names.optional(),
  firestoreDatabases: names.optional(),
  functions: z.array(functionEntry).optional(),
};
const OverrideSchema = z.strictObject({
  ...kinds,
  // null: the dataset does not exist in the old system.
  datasetId: z.string().min(1).nullable().optional(),
  add: z.strictObject(kinds).optional(),
});
export type ExistingSystemOverride = z.infer<typeof OverrideSchema>;

export class ExistingSystemConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid ${EXISTING_SYSTEM_KEY}: ${problems.join("; ")}`);
    this.name = "ExistingSystemConfigError";
  }
}

const toFunction = (entry: z.infer<typeof functionEntry>): ExistingFunction =>
  typeof entry === "string" ? { name: entry, ...DEFAULT_EXISTING_FUNCTION } : { ...DEFAULT_EXISTING_FUNCTION, ...entry };

/** The defaults: the physical names the pipeline model and the stack config give. */
export function defaultExistingSystem(pipeline: Pipeline, datasetId: string): ExistingSystem {
  return {
    topics: [...new Set(pipeline.transitions.flatMap((t) => [t.inputTopicName, t.outputTopicName]))].sort(),
    datasetId,
    tables: ORCHESTRATION_TABLES.map((t) => t.name),
    firestoreDatabases: ["(default)"],
    functions: pipeline.transitions.map((t) => ({ name: t.functionName, ...DEFAULT_EXISTING_FUNCTION })),
  };
}

/** Parses the stack's override (a JSON string as the config holds it, or undefined) and applies it. */
export function existingSystemFor(pipeline: Pipeline, datasetId: string, rawOverride: string | undefined): ExistingSystem {
  const base = defaultExistingSystem(pipeline, datasetId);
  if (rawOverride === undefined || rawOverride.trim() === "") return base;
  let json: unknown;
  try {
    json = JSON.parse(rawOverride);
  } catch (error) {
    throw new ExistingSystemConfigError([`not JSON: ${(error as Error).message}`]);
  }
  const parsed = OverrideSchema.safeParse(json);
  if (!parsed.success) throw new ExistingSystemConfigError(formatIssues(parsed.error));
  const o = parsed.data;
  const merged: ExistingSystem = {
    topics: [...(o.topics ?? base.topics), ...(o.add?.topics ?? [])],
    datasetId: o.datasetId === null ? undefined : (o.datasetId ?? base.datasetId),
    tables: [...(o.tables ?? base.tables), ...(o.add?.tables ?? [])],
    firestoreDatabases: [...(o.firestoreDatabases ?? base.firestoreDatabases), ...(o.add?.firestoreDatabases ?? [])],
    functions: [...(o.functions?.map(toFunction) ?? base.functions), ...(o.add?.functions?.map(toFunction) ?? [])],
  };
  // A later entry for the same function (e.g. in `add`) says how it is deployed.
  const byName = new Map(merged.functions.map((f) => [f.name, f]));
  return { ...merged, topics: [...new Set(merged.topics)].sort(), tables: [...new Set(merged.tables)], functions: [...byName.values()] };
}

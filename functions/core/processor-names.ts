// Which expected processor a completion message is from. Publishers send their class name, not
// the expected name (docs/ARCHITECTURE.md, "Compatibility"; FM5), so matching runs through a fixed order of
// evidence; a name matching nothing is reported by the caller and never counted. Pure.
import type { TransitionConfig } from "./pipeline-types.ts";

export type ResolvedVia = "name" | "output_table" | "alias" | "normalised";

export type ProcessorResolution =
  | { expected: string; via: ResolvedVia }
  | { expected: null; tried: string[] };

export interface ReportedProcessor {
  processor_name: string;
  output_table?: string | null | undefined;
}

/** `nba_raw.x` -> `x`, `project.nba_raw.x` -> `x`, `x` -> `x`. */
export function tableWithoutDataset(table: string): string {
  return table.slice(table.lastIndexOf(".") + 1);
}

/**
 * A class name as the snake_case expected name: drop a trailing `Processor` and a leading `Async`,
 * then CamelCase -> snake_case keeping acronyms together (`MLFeatureStoreProcessor` -> `ml_feature_store`).
 * Idempotent; snake_case input comes back unchanged.
 */
export function normaliseClassName(name: string): string {
  let core = name;
  if (core.endsWith("Processor") && core.length > "Processor".length) core = core.slice(0, -"Processor".length);
  // Only a capitalised "Async" followed by a word is the async variant's prefix (`AsyncFoo`, not `Asyncfoo`).
  if (/^Async[A-Z]/.test(core)) core = core.slice("Async".length);
  return core
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2") // acronym then word: MLFeature -> ML_Feature
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2") // word then word: featureStore -> feature_Store
    .toLowerCase();
}

/** Resolves in order: the expected name itself, the output table, an explicit alias, normalisation. */
export function resolveProcessorName(
  transition: Pick<TransitionConfig, "processors" | "normaliseClassNames">,
  reported: ReportedProcessor,
): ProcessorResolution {
  const { processors } = transition;
  const name = reported.processor_name;
  const tried: string[] = [];

  tried.push(`name:${name}`);
  if (processors.some((p) => p.name === name)) return { expected: name, via: "name" };

  if (typeof reported.output_table === "string" && reported.output_table !== "") {
    const table = tableWithoutDataset(reported.output_table);
    tried.push(`output_table:${table}`);
    const byTable = processors.find((p) => p.outputTables.includes(table)) ?? processors.find((p) => p.name === table);
    if (byTable) return { expected: byTable.name, via: "output_table" };
  }

  tried.push(`alias:${name}`);
  const byAlias = processors.find((p) => p.aliases.includes(name));
  if (byAlias) return { expected: byAlias.name, via: "alias" };

  if (transition.normaliseClassNames) {
    const normalised = normaliseClassName(name);
    tried.push(`normalised:${normalised}`);
    if (processors.some((p) => p.name === normalised)) return { expected: normalised, via: "normalised" };
  }
  return { expected: null, tried };
}

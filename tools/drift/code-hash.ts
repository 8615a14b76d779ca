// Where a Cloud Function resource carries the sha256 of its code archive (docs/ARCHITECTURE.md FM10):
// the CODE_HASH environment variable (full hash), the source object's name (full hash) and the
// `code-hash` label (a prefix, labels hold at most 63 characters). Reading all three lets the
// report work from whichever the state has; the full hash wins over the prefix.
import { parsePropertyPath, pathStartsWith } from "./property-path.ts";
import type { PathSegment } from "./property-path.ts";
import { UNKNOWN_VALUE } from "./preview-types.ts";

export type CodeHashSource = "env" | "source-object" | "label";

export interface CodeHash {
  /** Lowercase hex: 64 characters, or a shorter prefix when it came from the label. */
  hash: string;
  source: CodeHashSource;
}

const FULL_HASH = /^[0-9a-f]{64}$/;
const HASH_IN_TEXT = /(?:^|[^0-9a-f])([0-9a-f]{64})(?![0-9a-f])/;
const LABEL_PREFIX = /^[0-9a-f]{1,63}$/;

export const CODE_HASH_ENV = "CODE_HASH";
export const CODE_HASH_LABEL = "code-hash";
/** Label maps the gcp provider (v7+) keeps: what the program set, and what GCP holds. */
const LABEL_MAPS = ["labels", "effectiveLabels", "pulumiLabels"] as const;

/** The properties of a function that change exactly when its code changes. */
export const CODE_PROPERTY_PATHS: readonly (readonly PathSegment[])[] = [
  ["serviceConfig", "environmentVariables", CODE_HASH_ENV],
  ["buildConfig", "source"],
  ...LABEL_MAPS.map((map) => [map, CODE_HASH_LABEL]),
];

export function isCodeProperty(detailedDiffKey: string): boolean {
  const path = parsePropertyPath(detailedDiffKey);
  return CODE_PROPERTY_PATHS.some((codePath) => pathStartsWith(path, codePath));
}

/** The code hash recorded in one property map (a state's inputs or outputs), best evidence first. */
export function codeHashIn(properties: Record<string, unknown> | undefined): CodeHash | undefined {
  if (!properties) return undefined;
  const env = knownString(at(properties, ["serviceConfig", "environmentVariables", CODE_HASH_ENV]));
  if (env !== undefined && FULL_HASH.test(env)) return { hash: env, source: "env" };
  const object = knownString(at(properties, ["buildConfig", "source", "storageSource", "object"]));
  const inObject = object === undefined ? undefined : HASH_IN_TEXT.exec(object)?.[1];
  if (inObject !== undefined) return { hash: inObject, source: "source-object" };
  for (const map of LABEL_MAPS) {
    const label = knownString(at(properties, [map, CODE_HASH_LABEL]));
    if (label !== undefined && LABEL_PREFIX.test(label)) return { hash: label, source: "label" };
  }
  return undefined;
}

/** A full sha256 inside a text such as an object name `functions/<fn>/<sha256>.zip`. */
export function fullHashInText(text: string | undefined): string | undefined {
  return text === undefined ? undefined : HASH_IN_TEXT.exec(text)?.[1];
}

/** Same code when equal, or when one is a label prefix of the other full hash. */
export function sameCode(a: string, b: string): boolean {
  return a.length <= b.length ? b.startsWith(a) : a.startsWith(b);
}

function at(value: unknown, path: readonly string[]): unknown {
  let current = value;
  for (const key of path) {
    if (typeof current !== "object" || current === null || Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

/** Strings only; "[secret]" and the preview's unknown-value marker carry no hash. */
export function knownString(value: unknown): string | undefined {
  if (typeof value !== "string" || value === UNKNOWN_VALUE || value === "[secret]") return undefined;
  return value;
}

export function stringAt(properties: Record<string, unknown> | undefined, key: string): string | undefined {
  return knownString(properties?.[key]);
}

// Reading resource properties without tripping over values that are unknown during a preview.
//
// The policy SDK hands policies a proxy that throws UnknownValueError when a property whose value
// the engine does not know yet (a function's URL, an account's email) is read. A policy that lets
// that error escape is reported by the SDK as "can't run during preview" and checks nothing. So
// policies read through `at()`: it looks at the raw value behind the proxy (property descriptors
// are not trapped) and answers UNKNOWN instead of throwing, and each policy decides what an
// unknown value means for its rule.

/** A value the engine does not know yet (preview). */
export const UNKNOWN: unique symbol = Symbol("unknown");
export type Unknown = typeof UNKNOWN;

/**
 * The sentinels the engine and the policy SDK use for unknown values
 * (@pulumi/policy proxy.js: unknown{Boolean,Number,String,Array,Asset,Archive,Object}Value;
 * the string one is also @pulumi/pulumi's runtime unknownValue). A test pins them to the SDK's.
 */
export const UNKNOWN_SENTINELS: ReadonlySet<string> = new Set([
  "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",
  "3eeb2bf0-c639-47a8-9e75-3b44932eb421",
  "04da6b54-80e4-46f7-96ec-b56ff0331ba9",
  "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",
  "030794c1-ac77-496b-92df-f27374a8bd58",
  "e48ece36-62e2-4504-bad9-02848725956a",
  "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",
]);

export function isUnknown(value: unknown): value is Unknown {
  return value === UNKNOWN || (typeof value === "string" && UNKNOWN_SENTINELS.has(value));
}

/** The value at `path` under `root`: undefined when absent, UNKNOWN when it (or a parent) is unknown. */
export function at(root: unknown, ...path: (string | number)[]): unknown {
  let cur: unknown = root;
  if (isUnknown(cur)) return UNKNOWN;
  for (const key of path) {
    if (cur === null || typeof cur !== "object") return undefined;
    const desc = Reflect.getOwnPropertyDescriptor(cur, String(key));
    cur = desc === undefined ? undefined : (desc.value as unknown);
    if (isUnknown(cur)) return UNKNOWN;
  }
  return cur;
}

/** Own keys of an object value (not of an unknown or a non-object). */
export function keysOf(value: unknown): string[] {
  if (value === null || typeof value !== "object" || isUnknown(value)) return [];
  return Reflect.ownKeys(value).filter((k): k is string => typeof k === "string");
}

/** The elements of an array value (each may be UNKNOWN); [] for anything else. */
export function elementsOf(value: unknown): unknown[] {
  if (!Array.isArray(value)) return [];
  const length = at(value, "length");
  const n = typeof length === "number" ? length : 0;
  return Array.from({ length: n }, (_, i) => at(value, i));
}

/** A string property: the string, UNKNOWN, or undefined (absent, empty or not a string). */
export function stringAt(root: unknown, ...path: (string | number)[]): string | Unknown | undefined {
  const v = at(root, ...path);
  if (v === UNKNOWN) return UNKNOWN;
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** A number property (numbers and numeric strings, as the engine may carry either). */
export function numberAt(root: unknown, ...path: (string | number)[]): number | Unknown | undefined {
  const v = at(root, ...path);
  if (v === UNKNOWN) return UNKNOWN;
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string" && /^-?\d+(\.\d+)?$/.test(v)) return Number(v);
  return undefined;
}

/** Whether an object-valued property is present (known or unknown). */
export function isPresent(value: unknown): boolean {
  return value !== undefined && value !== null;
}

/** A protobuf duration ("10s", "1.5s") in seconds, or undefined if it is not one. */
export function durationSeconds(value: unknown): number | undefined {
  if (typeof value !== "string") return undefined;
  const m = /^(\d+(?:\.\d+)?)s$/.exec(value.trim());
  return m === null ? undefined : Number(m[1]);
}

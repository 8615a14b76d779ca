// Value handling of the BigQuery fake: how BigQuery reads insertAll JSON and query parameters,
// how it stores values, and how it writes them back on the wire (the `f`/`v` row format).
//
// Stored representation (so comparisons in WHERE/ON are plain JS comparisons):
//   STRING -> string, INTEGER/FLOAT -> number, BOOLEAN -> boolean, DATE -> "YYYY-MM-DD",
//   TIMESTAMP -> microseconds since the epoch (number; exact for dates this century), NULL -> null,
//   REPEATED -> array of the element representation.

export type Scalar = string | number | boolean | null;
export type StoredValue = Scalar | Scalar[];
export type StoredRow = Record<string, StoredValue>;

/** A column as BigQuery describes it (tables.insert / schema of a query result). */
export interface SchemaField {
  name: string;
  type: string;
  mode?: string;
  description?: string;
}

/** Canonical scalar type names; the API accepts both the legacy and the standard SQL spelling. */
export type CanonicalType = "STRING" | "INTEGER" | "FLOAT" | "BOOLEAN" | "DATE" | "TIMESTAMP";

const TYPE_ALIASES: Record<string, CanonicalType> = {
  STRING: "STRING",
  INTEGER: "INTEGER",
  INT64: "INTEGER",
  FLOAT: "FLOAT",
  FLOAT64: "FLOAT",
  BOOLEAN: "BOOLEAN",
  BOOL: "BOOLEAN",
  DATE: "DATE",
  TIMESTAMP: "TIMESTAMP",
};

export function canonicalType(type: string): CanonicalType | undefined {
  return TYPE_ALIASES[type.toUpperCase()];
}

/** Standard SQL name of a canonical type, as error messages print it. */
export function sqlTypeName(type: CanonicalType): string {
  return { STRING: "STRING", INTEGER: "INT64", FLOAT: "FLOAT64", BOOLEAN: "BOOL", DATE: "DATE", TIMESTAMP: "TIMESTAMP" }[
    type
  ];
}

export class ValueError extends Error {
  override readonly name = "ValueError";
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIMESTAMP_RE =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,12}))?\s*(Z|UTC|[+-]\d{2}(?::?\d{2})?)?$/i;

function isValidDate(y: number, m: number, d: number): boolean {
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

export function parseDate(text: string): string {
  const match = DATE_RE.exec(text);
  if (!match || !isValidDate(Number(match[1]), Number(match[2]), Number(match[3]))) {
    throw new ValueError(`Could not parse '${text}' as DATE`);
  }
  return text;
}

/** RFC 3339 / BigQuery canonical timestamp text -> epoch microseconds. */
export function parseTimestampMicros(text: string): number {
  const m = TIMESTAMP_RE.exec(text.trim());
  if (!m) throw new ValueError(`Could not parse '${text}' as a timestamp`);
  const [, y, mo, d, h, mi, s, frac = "", zone = "Z"] = m;
  if (!isValidDate(Number(y), Number(mo), Number(d)) || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) {
    throw new ValueError(`Could not parse '${text}' as a timestamp`);
  }
  const baseMs = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s));
  let offsetMinutes = 0;
  const upperZone = zone.toUpperCase();
  if (upperZone !== "Z" && upperZone !== "UTC") {
    const sign = zone.startsWith("-") ? -1 : 1;
    const digits = zone.slice(1).replace(":", "");
    offsetMinutes = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || "0"));
  }
  const micros = Number(frac.padEnd(6, "0").slice(0, 6));
  return (baseMs - offsetMinutes * 60_000) * 1000 + micros;
}

export function formatTimestampMicros(micros: number): string {
  const ms = Math.floor(micros / 1000);
  const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  const fraction = String(micros - Math.floor(micros / 1_000_000) * 1_000_000).padStart(6, "0");
  return `${iso.slice(0, 19)}.${fraction}Z`;
}

// ---- insertAll JSON -> stored value (BigQuery's streaming conversion rules, slightly strict) ----

function convertScalarFromJson(type: CanonicalType, value: unknown): Scalar {
  if (value === null || value === undefined) return null;
  if (typeof value === "object") {
    throw new ValueError(`This field is not a record or repeated field but an object/array was given`);
  }
  switch (type) {
    case "STRING":
      // BigQuery would stringify a JSON number here; we refuse it, so a caller that forgets to
      // serialise (e.g. metadata as an object) fails loudly in tests.
      if (typeof value !== "string") throw new ValueError(`Cannot convert value to string: ${String(value)}`);
      return value;
    case "INTEGER": {
      const n = typeof value === "string" && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
      if (typeof n !== "number" || !Number.isInteger(n)) {
        throw new ValueError(`Cannot convert value to integer (bad value): ${String(value)}`);
      }
      return n;
    }
    case "FLOAT": {
      const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
      if (typeof n !== "number" || !Number.isFinite(n)) {
        throw new ValueError(`Cannot convert value to floating point (bad value): ${String(value)}`);
      }
      return n;
    }
    case "BOOLEAN":
      if (typeof value === "boolean") return value;
      if (value === "true" || value === "false") return value === "true";
      throw new ValueError(`Cannot convert value to boolean: ${String(value)}`);
    case "DATE":
      if (typeof value !== "string") throw new ValueError(`Cannot convert value to date: ${String(value)}`);
      return parseDate(value);
    case "TIMESTAMP":
      if (typeof value === "number") return Math.round(value * 1_000_000); // epoch seconds
      if (typeof value !== "string") throw new ValueError(`Cannot convert value to timestamp: ${String(value)}`);
      return parseTimestampMicros(value);
  }
}

/** One insertAll value for a column, or a ValueError with BigQuery's kind of message. */
export function convertFromJson(field: SchemaField, value: unknown): StoredValue {
  const type = canonicalType(field.type);
  if (!type) throw new ValueError(`Unsupported column type ${field.type} in the BigQuery fake`);
  const mode = (field.mode ?? "NULLABLE").toUpperCase();
  if (mode === "REPEATED") {
    if (value === null || value === undefined) return [];
    if (!Array.isArray(value)) throw new ValueError(`Array specified for non-repeated field / non-array for repeated field ${field.name}.`);
    return value.map((item) => {
      const converted = convertScalarFromJson(type, item);
      if (converted === null) throw new ValueError(`Null value in repeated field ${field.name}.`);
      return converted;
    });
  }
  if (Array.isArray(value)) throw new ValueError(`Array specified for non-repeated field: ${field.name}.`);
  const converted = convertScalarFromJson(type, value);
  if (converted === null && mode === "REQUIRED") throw new ValueError(`Missing required field: ${field.name}.`);
  return converted;
}

/** Whether a stored value fits a column (used for MERGE assignments). */
export function fitsField(field: SchemaField, value: StoredValue): boolean {
  const type = canonicalType(field.type);
  const mode = (field.mode ?? "NULLABLE").toUpperCase();
  const fitsScalar = (v: Scalar): boolean => {
    if (v === null) return true;
    switch (type) {
      case "STRING":
        return typeof v === "string";
      case "INTEGER":
        return typeof v === "number" && Number.isInteger(v);
      case "FLOAT":
        return typeof v === "number";
      case "BOOLEAN":
        return typeof v === "boolean";
      case "DATE":
        return typeof v === "string" && DATE_RE.test(v);
      case "TIMESTAMP":
        return typeof v === "number" && Number.isInteger(v);
      default:
        return false;
    }
  };
  if (mode === "REPEATED") return Array.isArray(value) && value.every((v) => v !== null && fitsScalar(v));
  if (Array.isArray(value)) return false;
  if (value === null) return mode !== "REQUIRED";
  return fitsScalar(value);
}

// ---- query parameters (jobs.query / jobs.insert configuration.query.queryParameters) ----

export interface WireParameterType {
  type: string;
  arrayType?: WireParameterType;
}
export interface WireParameterValue {
  value?: unknown;
  arrayValues?: WireParameterValue[];
}
export interface WireQueryParameter {
  name?: string;
  parameterType: WireParameterType;
  parameterValue?: WireParameterValue;
}

export interface TypedValue {
  value: StoredValue;
  /** Canonical element type; `repeated` for ARRAY parameters. */
  type: CanonicalType;
  repeated: boolean;
}

function convertParamScalar(type: CanonicalType, raw: unknown, name: string): Scalar {
  if (raw === null || raw === undefined) return null;
  try {
    switch (type) {
      case "STRING":
        return String(raw);
      case "INTEGER":
      case "FLOAT":
      case "BOOLEAN":
      case "DATE":
        return convertScalarFromJson(type, raw);
      case "TIMESTAMP":
        return parseTimestampMicros(String(raw));
    }
  } catch (err) {
    throw new ValueError(`Invalid value for query parameter @${name}: ${(err as Error).message}`);
  }
}

export function convertParameter(param: WireQueryParameter): TypedValue {
  const name = param.name ?? "?";
  const declared = param.parameterType.type.toUpperCase();
  if (declared === "ARRAY") {
    const elementType = canonicalType(param.parameterType.arrayType?.type ?? "");
    if (!elementType) throw new ValueError(`Unsupported ARRAY element type for query parameter @${name}`);
    const items = param.parameterValue?.arrayValues ?? [];
    return {
      type: elementType,
      repeated: true,
      value: items.map((item) => {
        const v = convertParamScalar(elementType, item.value, name);
        if (v === null) throw new ValueError(`Array parameter @${name} cannot hold NULL`);
        return v;
      }),
    };
  }
  const type = canonicalType(declared);
  if (!type) throw new ValueError(`Unsupported type ${declared} for query parameter @${name} in the BigQuery fake`);
  return { type, repeated: false, value: convertParamScalar(type, param.parameterValue?.value, name) };
}

// ---- stored value -> wire (tabledata / query results) ----

export interface TimestampFormat {
  /** true: int64 microseconds as a string (what the Node client asks for); false: float seconds. */
  useInt64Timestamp: boolean;
  iso8601: boolean;
}

function scalarToWire(type: CanonicalType, value: Scalar, format: TimestampFormat): string | null {
  if (value === null) return null;
  if (type === "TIMESTAMP" && typeof value === "number") {
    if (format.iso8601) return formatTimestampMicros(value);
    return format.useInt64Timestamp ? String(value) : String(value / 1_000_000);
  }
  return String(value);
}

export function toWireCell(field: SchemaField, value: StoredValue, format: TimestampFormat): { v: unknown } {
  const type = canonicalType(field.type) ?? "STRING";
  if (Array.isArray(value)) return { v: value.map((item) => ({ v: scalarToWire(type, item, format) })) };
  return { v: scalarToWire(type, value, format) };
}

/** For inspection in tests: timestamps as ISO text, everything else as stored. */
export function toPlainValue(field: SchemaField, value: StoredValue): unknown {
  if (canonicalType(field.type) === "TIMESTAMP") {
    if (Array.isArray(value)) return value.map((v) => (typeof v === "number" ? formatTimestampMicros(v) : v));
    return typeof value === "number" ? formatTimestampMicros(value) : value;
  }
  return Array.isArray(value) ? [...value] : value;
}

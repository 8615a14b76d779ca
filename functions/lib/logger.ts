// Structured logging as Cloud Logging reads it from stdout: one JSON object a line with `severity`,
// `message`, `time`, `logging.googleapis.com/labels` and, when known, `logging.googleapis.com/trace`.
// Built on pino (fast, synchronous line writes); pino's own levels are replaced by Cloud Logging's
// severities and its pid/hostname fields are dropped.
import { pino } from "pino";

/** Cloud Logging severities this logger writes, with pino level numbers that keep their order. */
const LEVELS = { debug: 20, info: 30, notice: 35, warning: 40, error: 50, critical: 60 } as const;
export type Severity = "DEBUG" | "INFO" | "NOTICE" | "WARNING" | "ERROR" | "CRITICAL";
type LevelName = keyof typeof LEVELS;

/** Labels Cloud Logging indexes. Values are strings there; undefined ones are left out. */
export interface LogLabels {
  function?: string;
  phase?: string;
  game_date?: string;
  correlation_id?: string;
  code_hash?: string;
  [key: string]: string | undefined;
}

/** Where lines go; anything with a synchronous `write(line)` (stdout by default). */
export interface LogDestination {
  write(line: string): unknown;
}

export interface TraceContext {
  traceId: string;
  spanId?: string;
  sampled?: boolean;
}

export interface Logger {
  debug(message: string, fields?: object): void;
  info(message: string, fields?: object): void;
  notice(message: string, fields?: object): void;
  warning(message: string, fields?: object): void;
  error(message: string, fields?: object): void;
  critical(message: string, fields?: object): void;
  /** A logger whose lines carry these labels in addition to (and overriding) the current ones. */
  child(labels: LogLabels): Logger;
  /** A logger whose lines carry the request's trace (no-op when header or project is missing). */
  withTrace(trace: TraceContext | undefined, projectId: string | undefined): Logger;
  readonly labels: Readonly<Record<string, string>>;
}

export const LABELS_KEY = "logging.googleapis.com/labels";
export const TRACE_KEY = "logging.googleapis.com/trace";
export const SPAN_KEY = "logging.googleapis.com/spanId";
export const TRACE_SAMPLED_KEY = "logging.googleapis.com/trace_sampled";

/**
 * Reads the trace from `traceparent` (W3C: 00-<32 hex trace>-<16 hex span>-<flags>) or
 * `x-cloud-trace-context` (<32 hex trace>/<decimal span>;o=1). traceparent wins when both are set.
 */
export function parseTraceHeaders(headers: Record<string, string | string[] | undefined>): TraceContext | undefined {
  const first = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);
  const traceparent = first(headers["traceparent"]);
  const w3c = traceparent?.match(/^[\da-f]{2}-([\da-f]{32})-([\da-f]{16})-([\da-f]{2})$/i);
  if (w3c?.[1] && w3c[2] && w3c[3]) {
    return { traceId: w3c[1].toLowerCase(), spanId: w3c[2].toLowerCase(), sampled: (parseInt(w3c[3], 16) & 1) === 1 };
  }
  const cloud = first(headers["x-cloud-trace-context"]);
  const legacy = cloud?.match(/^([\da-f]{32})(?:\/(\d+))?(?:;o=([01]))?/i);
  if (legacy?.[1]) {
    return {
      traceId: legacy[1].toLowerCase(),
      ...(legacy[2] ? { spanId: BigInt(legacy[2]).toString(16).padStart(16, "0") } : {}),
      ...(legacy[3] ? { sampled: legacy[3] === "1" } : {}),
    };
  }
  return undefined;
}

/** `error` field content: name, message, stack and the codes the classifier reads. */
export function serializeError(err: unknown): Record<string, unknown> {
  if (err instanceof Error) {
    const e = err as Error & { code?: unknown; status?: unknown; attempts?: unknown; details?: unknown };
    return {
      name: e.name,
      message: e.message,
      ...(e.stack !== undefined ? { stack: e.stack } : {}),
      ...(e.code !== undefined ? { code: e.code } : {}),
      ...(e.status !== undefined ? { status: e.status } : {}),
      ...(typeof e.details === "string" ? { details: e.details } : {}),
      ...(e.attempts !== undefined ? { attempts: e.attempts } : {}),
      ...(e.cause !== undefined ? { cause: serializeError(e.cause) } : {}),
    };
  }
  return { name: typeof err, message: String(err) };
}

function cleanLabels(labels: LogLabels): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) if (v !== undefined) out[k] = String(v);
  return out;
}

function defaultLevel(): LevelName {
  const wanted = process.env["LOG_LEVEL"]?.toLowerCase();
  return wanted !== undefined && wanted in LEVELS ? (wanted as LevelName) : "info";
}

function buildPino(destination: LogDestination, level: LevelName) {
  return pino(
    {
      level,
      customLevels: LEVELS,
      useOnlyCustomLevels: true,
      messageKey: "message",
      base: null, // no pid / hostname
      timestamp: pino.stdTimeFunctions.isoTime, // "time": RFC 3339, which Cloud Logging reads
      formatters: { level: (label: string) => ({ severity: label.toUpperCase() }) },
    },
    destination as pino.DestinationStream,
  );
}

type PinoLike = ReturnType<typeof buildPino>;

function makeLogger(base: PinoLike, labels: Record<string, string>, traceFields: Record<string, unknown>): Logger {
  const write = (level: LevelName) => (message: string, fields?: object) => {
    const extra: Record<string, unknown> = { ...(fields as Record<string, unknown> | undefined) };
    if ("error" in extra && extra["error"] !== undefined) {
      const serialized = serializeError(extra["error"]);
      extra["error"] = serialized;
      // Error Reporting picks up a `stack_trace` field on error lines.
      if (LEVELS[level] >= LEVELS.error && typeof serialized["stack"] === "string") {
        extra["stack_trace"] = serialized["stack"];
      }
    }
    base[level]({ ...extra, ...traceFields, [LABELS_KEY]: labels }, message);
  };
  return {
    debug: write("debug"),
    info: write("info"),
    notice: write("notice"),
    warning: write("warning"),
    error: write("error"),
    critical: write("critical"),
    labels,
    child: (more) => makeLogger(base, { ...labels, ...cleanLabels(more) }, traceFields),
    withTrace: (trace, projectId) => {
      if (trace === undefined || !projectId) return makeLogger(base, labels, traceFields);
      return makeLogger(base, labels, {
        [TRACE_KEY]: `projects/${projectId}/traces/${trace.traceId}`,
        ...(trace.spanId !== undefined ? { [SPAN_KEY]: trace.spanId } : {}),
        ...(trace.sampled !== undefined ? { [TRACE_SAMPLED_KEY]: trace.sampled } : {}),
      });
    },
  };
}

const stdout: LogDestination = { write: (line) => process.stdout.write(line) };

/**
 * A structured logger. `destination` defaults to stdout; `level` to $LOG_LEVEL or "info".
 */
export function createLogger(labels: LogLabels = {}, destination: LogDestination = stdout, level?: LevelName): Logger {
  return makeLogger(buildPino(destination, level ?? defaultLevel()), cleanLabels(labels), {});
}

/** One parsed log line. */
export interface LogEntry {
  severity: Severity;
  message: string;
  time: string;
  [key: string]: unknown;
}

export interface LogCapture {
  /** A debug-level logger writing into this capture. */
  logger: Logger;
  destination: LogDestination;
  /** Parsed lines in order. */
  readonly entries: LogEntry[];
  /** Entries of one severity (optionally whose message contains `text`). */
  find(severity: Severity, text?: string): LogEntry[];
  clear(): void;
}

/**
 * Test helper (used by every runtime test): a logger whose lines are parsed and kept in memory, so a
 * test can assert what was logged at which severity. Lives here so tests and colleagues import one thing.
 */
export function captureLogs(labels: LogLabels = {}): LogCapture {
  const entries: LogEntry[] = [];
  const destination: LogDestination = {
    write: (line: string) => {
      for (const part of line.split("\n")) if (part.trim() !== "") entries.push(JSON.parse(part) as LogEntry);
      return true;
    },
  };
  return {
    logger: createLogger(labels, destination, "debug"),
    destination,
    entries,
    find: (severity, text) =>
      entries.filter((e) => e.severity === severity && (text === undefined || e.message.includes(text))),
    clear: () => {
      entries.length = 0;
    },
  };
}

// The one error classification of the runtime: is a failure worth retrying (transient) or not.
// Retry, circuit breaker, HTTP status mapping and alerts all ask this module, so they agree.
//
// Error shapes it reads (checked against the client sources):
// - google-gax GoogleError (Firestore, Pub/Sub over gRPC): `code` = numeric gRPC status (0..16),
//   `details`, `reason`; a REST-fallback error also carries `httpStatusCode`.
// - @google-cloud/common ApiError (BigQuery): `code` = HTTP status, `errors[]` = { reason, message }.
// - gaxios GaxiosError: `status` = HTTP status, `code` = HTTP status or a Node error code string.
// - Node / undici network errors: `code` = "ECONNREFUSED" ..., or a TypeError "fetch failed" whose
//   `cause` holds the code.
// - The project's own family (functions/core/error-family.ts): an AttemptTimeoutError is transient,
//   a CircuitOpenError final; a WrappingError (retry bookkeeping) is classified as what it wraps.
import { AttemptTimeoutError, DependencyUnavailableError, unwrapContext } from "../core/error-family.ts";

/** gRPC status codes by name (google.rpc.Code). */
export const GRPC_STATUS = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;

type GrpcStatusName = keyof typeof GRPC_STATUS;

const TRANSIENT_GRPC = new Set<GrpcStatusName>([
  "ABORTED",
  "UNAVAILABLE",
  "DEADLINE_EXCEEDED",
  "RESOURCE_EXHAUSTED",
  "INTERNAL",
]);

const TRANSIENT_BIGQUERY_REASONS = new Set(["backendError", "rateLimitExceeded", "internalError"]);

const TRANSIENT_NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EAI_AGAIN",
  "ECONNABORTED",
  "ESOCKETTIMEDOUT",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
]);

const TRANSIENT_MESSAGE_PATTERNS: readonly RegExp[] = [
  // BigQuery DML conflicting with another DML on the same table.
  /could not serialize access to table .* due to concurrent update/i,
  /socket hang up/i,
];

/** Thrown by the circuit breaker while open. Not transient: within one event we fail fast. */
export class CircuitOpenError extends DependencyUnavailableError {
  override readonly name: string = "CircuitOpenError";
  readonly breaker: string;
  constructor(breaker: string, options?: ErrorOptions) {
    super(`circuit "${breaker}" is open: failing fast`, options);
    this.breaker = breaker;
  }
}

export interface ErrorClassification {
  transient: boolean;
  /** Machine-readable family, e.g. "grpc", "http", "bigquery", "network", "circuit_open", "unknown". */
  kind: string;
  /** The code the decision rests on: gRPC status name, HTTP status, BigQuery reason or Node code. */
  code?: string | number;
}

function field(value: unknown, key: string): unknown {
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

function grpcNameOf(code: unknown): GrpcStatusName | undefined {
  if (typeof code === "number" && Number.isInteger(code) && code >= 0 && code <= 16) {
    return (Object.keys(GRPC_STATUS) as GrpcStatusName[]).find((name) => GRPC_STATUS[name] === code);
  }
  if (typeof code === "string" && code in GRPC_STATUS) return code as GrpcStatusName;
  return undefined;
}

function httpStatusOf(err: unknown): number | undefined {
  const candidates = [field(err, "code"), field(err, "status"), field(field(err, "response"), "status")];
  for (const c of candidates) {
    if (typeof c === "number" && Number.isInteger(c) && c >= 100 && c <= 599) return c;
  }
  return undefined;
}

function bigqueryReasonsOf(err: unknown): string[] {
  const reasons: string[] = [];
  const errors = field(err, "errors");
  if (Array.isArray(errors)) {
    for (const e of errors) {
      const reason = field(e, "reason");
      if (typeof reason === "string") reasons.push(reason);
      // insertAll partial failures nest per-row errors: { row, errors: [{ reason }] }
      const nested = field(e, "errors");
      if (Array.isArray(nested)) {
        for (const n of nested) {
          const r = field(n, "reason");
          if (typeof r === "string") reasons.push(r);
        }
      }
    }
  }
  const reason = field(err, "reason");
  if (typeof reason === "string") reasons.push(reason);
  return reasons;
}

function httpIsTransient(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/** Walks err, err.cause, ... (bounded) so wrapped network errors are still recognised. */
function causeChain(err: unknown): unknown[] {
  const chain: unknown[] = [];
  let current: unknown = err;
  while (current !== undefined && current !== null && chain.length < 5 && !chain.includes(current)) {
    chain.push(current);
    current = field(current, "cause");
  }
  return chain;
}

function classifyOne(err: unknown): ErrorClassification | undefined {
  if (err instanceof CircuitOpenError || field(err, "name") === "CircuitOpenError") {
    return { transient: false, kind: "circuit_open", code: "CIRCUIT_OPEN" };
  }

  const code = field(err, "code");
  if (typeof code === "string" && TRANSIENT_NETWORK_CODES.has(code)) {
    return { transient: true, kind: "network", code };
  }

  // BigQuery reasons go before the HTTP status: rateLimitExceeded arrives as HTTP 403.
  const reasons = bigqueryReasonsOf(err);
  const transientReason = reasons.find((r) => TRANSIENT_BIGQUERY_REASONS.has(r));
  if (transientReason !== undefined) return { transient: true, kind: "bigquery", code: transientReason };

  const message = field(err, "message");
  if (typeof message === "string" && TRANSIENT_MESSAGE_PATTERNS.some((p) => p.test(message))) {
    return { transient: true, kind: /serialize access/i.test(message) ? "bigquery" : "network", code: "message" };
  }

  const grpc = grpcNameOf(code);
  if (grpc !== undefined) return { transient: TRANSIENT_GRPC.has(grpc), kind: "grpc", code: grpc };

  const status = httpStatusOf(err);
  if (status !== undefined) {
    return {
      transient: httpIsTransient(status),
      kind: reasons.length > 0 ? "bigquery" : "http",
      code: reasons[0] ?? status,
    };
  }

  // Our own attempt bound, or the platform's (AbortSignal.timeout rejects with a DOMException "TimeoutError").
  if (err instanceof AttemptTimeoutError || field(err, "name") === "TimeoutError") return { transient: true, kind: "timeout", code: "TimeoutError" };
  return undefined;
}

/** Classifies any thrown value. Unknown errors are not transient: retrying a bug does not fix it. */
export function classifyError(wrapped: unknown): ErrorClassification {
  const err = unwrapContext(wrapped);
  // A circuit-open error is final even if something wrapped it.
  for (const link of causeChain(err)) {
    const found = classifyOne(link);
    if (found !== undefined) return found;
  }
  // undici wraps the real cause; its message alone still tells a network failure.
  const message = field(err, "message");
  if (field(err, "name") === "TypeError" && (message === "fetch failed" || message === "terminated")) {
    return { transient: true, kind: "network", code: String(message) };
  }
  const name = field(err, "name");
  return { transient: false, kind: "unknown", ...(typeof name === "string" ? { code: name } : {}) };
}

export function isTransient(err: unknown): boolean {
  return classifyError(err).transient;
}

/**
 * Contention: the dependency answered, but another writer won (a Firestore transaction ABORTED, a
 * BigQuery DML concurrent-update conflict). Worth a retry, but no sign of an outage, so it must not
 * open a circuit breaker.
 */
export function isContention(wrapped: unknown): boolean {
  const err = unwrapContext(wrapped);
  const code = field(err, "code");
  if (code === GRPC_STATUS.ABORTED || code === "ABORTED") return true;
  const message = field(err, "message");
  return typeof message === "string" && /could not serialize access to table .* due to concurrent update/i.test(message);
}

/** A short, stable label for an error, for alerts and metrics ("grpc:UNAVAILABLE", "http:503"). */
export function errorType(err: unknown): string {
  const c = classifyError(err);
  return c.code === undefined ? c.kind : `${c.kind}:${c.code}`;
}

/** "Name: message" of an error (or its string form), for log fields and reports. */
export function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

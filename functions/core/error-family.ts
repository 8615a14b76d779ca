// The project's one error family. A caller decides on the subclass, never on a message or a borrowed
// name: retry a TransientError, stop on a PermanentError, fix the deployment on a ConfigurationError,
// fix the code or the data on a ContractViolationError, fail fast on a DependencyUnavailableError. Every error carries what caused it in the standard
// `cause` (ES2022), so wrapping never loses the original and nothing is written onto a caught error.
//
// Errors of the cloud clients (gRPC status, HTTP status, BigQuery reasons, Node network codes) stay
// what the clients throw; functions/lib/errors.ts classifies them and this family alike.

/** What a caller decides on. */
export type ErrorCategory = "transient" | "unavailable" | "permanent" | "configuration" | "contract";

/** The base of every error this project throws. */
export abstract class OrchestrationError extends Error {
  abstract readonly category: ErrorCategory;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/** Worth another attempt: the same call may succeed (an attempt that timed out, a dependency busy). */
export class TransientError extends OrchestrationError {
  override readonly name: string = "TransientError";
  readonly category = "transient" as const;
}

/** An attempt that ran past its time bound: transient, the next attempt may be faster. */
export class AttemptTimeoutError extends TransientError {
  override readonly name: string = "AttemptTimeoutError";
}

/**
 * A dependency is known to be down (a circuit breaker open): no retry within this event, which fails
 * fast with a non-2xx so the message comes back later.
 */
export class DependencyUnavailableError extends OrchestrationError {
  override readonly name: string = "DependencyUnavailableError";
  readonly category = "unavailable" as const;
}

/** A dependency answered for good (a permission missing, a value it rejects): retrying does not help. */
export class PermanentError extends OrchestrationError {
  override readonly name: string = "PermanentError";
  readonly category = "permanent" as const;
}

/** The deployment is wrong (environment, pipeline model, identifiers): the function cannot start or run. */
export class ConfigurationError extends OrchestrationError {
  override readonly name: string = "ConfigurationError";
  readonly category = "configuration" as const;
}

/** An invariant or message contract broken (a bug, or data that cannot be): neither retried nor configured away. */
export class ContractViolationError extends OrchestrationError {
  override readonly name: string = "ContractViolationError";
  readonly category = "contract" as const;
}

/**
 * An error that only adds context to another (retry bookkeeping: how many attempts, why it stopped).
 * Classification and callers look through it to its `cause`.
 */
export abstract class WrappingError extends OrchestrationError {
  declare readonly cause: unknown;
  constructor(message: string, cause: unknown) {
    super(message, { cause });
  }
}

/** The outermost link of err's cause chain that is not a WrappingError (err itself when it is none). */
export function unwrapContext(err: unknown): unknown {
  let current = err;
  for (let depth = 0; current instanceof WrappingError && depth < 5; depth++) current = current.cause;
  return current;
}

/** The family's category of any thrown value; undefined outside the family. */
export function errorCategory(err: unknown): ErrorCategory | undefined {
  return err instanceof OrchestrationError ? err.category : undefined;
}

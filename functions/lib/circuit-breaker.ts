// Circuit breaker per dependency, on opossum.
//
// opossum opens on an error *percentage* over a rolling window; our rule is N *consecutive*
// transient failures. So opossum keeps the states, the fail-fast rejection, the single half-open
// trial and the reset timer; its percentage trigger is switched off (threshold 100 can never be
// exceeded) and this module counts consecutive transient failures and calls breaker.open() at N.
// Non-transient errors (INVALID_ARGUMENT, NOT_FOUND, ...) pass opossum's errorFilter: they neither
// count nor reset the streak, and in half-open they prove the dependency answers, so it closes.
// Contention (a transaction ABORTED because another writer won) is treated the same way: retried by
// withRetry, but never counted toward opening -- a burst of completions on one date is not an outage.
//
// Compose with retry as withRetry(op, () => breaker.fire(() => call), preset): a CircuitOpenError is
// not transient, so an open circuit ends the retries of the current event at once.
import CircuitBreaker from "opossum";
import { CircuitOpenError, classifyError, isContention, isTransient } from "./errors.ts";
import { createLogger, type Logger } from "./logger.ts";

export type BreakerState = "closed" | "open" | "half_open";

export interface BreakerOptions {
  /** Consecutive transient failures that open the circuit. */
  failureThreshold?: number;
  /** How long the circuit stays open before one trial call (half-open). */
  resetTimeoutMs?: number;
  /** Per-call timeout enforced by the breaker (ETIMEDOUT, transient); off by default: retry.ts bounds attempts. */
  timeoutMs?: number | false;
  logger?: Logger;
}

export interface BreakerSnapshot {
  name: string;
  state: BreakerState;
  consecutiveFailures: number;
  failureThreshold: number;
  resetTimeoutMs: number;
  /** ISO time the circuit last opened. */
  openedAt?: string;
  /** Calls rejected without running since the breaker was created. */
  rejected: number;
  lastError?: { kind: string; code?: string | number; message: string };
}

export interface Breaker {
  readonly name: string;
  readonly state: BreakerState;
  /** Runs fn through the breaker; rejects with CircuitOpenError while open. */
  fire<T>(fn: () => Promise<T>): Promise<T>;
  snapshot(): BreakerSnapshot;
  /** Stops the breaker's timers (tests, shutdown). */
  shutdown(): void;
}

export const BREAKER_DEFAULTS = { failureThreshold: 5, resetTimeoutMs: 30_000 } as const;

const registry = new Map<string, Breaker>();

/** Every live breaker's state, for /health and diagnostics. */
export function breakerSnapshots(): BreakerSnapshot[] {
  return [...registry.values()].map((b) => b.snapshot());
}

function stateOf(cb: CircuitBreaker): BreakerState {
  if (cb.halfOpen) return "half_open";
  return cb.opened ? "open" : "closed";
}

/** Failures that count toward opening: transient, and not mere contention. */
function countsAsOutage(err: unknown): boolean {
  return isTransient(err) && !isContention(err);
}

export function createBreaker(name: string, options: BreakerOptions = {}): Breaker {
  const failureThreshold = options.failureThreshold ?? BREAKER_DEFAULTS.failureThreshold;
  const resetTimeoutMs = options.resetTimeoutMs ?? BREAKER_DEFAULTS.resetTimeoutMs;
  const logger = (options.logger ?? createLogger()).child({ breaker: name });

  const cb = new CircuitBreaker((fn: () => Promise<unknown>) => fn(), {
    name,
    resetTimeout: resetTimeoutMs,
    timeout: options.timeoutMs ?? false,
    errorThresholdPercentage: 100, // never exceeded: opening is decided by the consecutive count below
    volumeThreshold: 0,
    errorFilter: (err: unknown) => !countsAsOutage(err),
    enableSnapshots: false,
  });

  let consecutiveFailures = 0;
  let openedAt: string | undefined;
  let rejected = 0;
  let lastError: BreakerSnapshot["lastError"];

  cb.on("open", () => {
    openedAt = new Date().toISOString();
    logger.error(`circuit ${name} opened: failing fast for ${resetTimeoutMs} ms`, {
      circuit_state: "open",
      consecutive_failures: consecutiveFailures,
      last_error: lastError,
    });
  });
  cb.on("halfOpen", () => {
    logger.warning(`circuit ${name} half-open: next call is a trial`, { circuit_state: "half_open" });
  });
  cb.on("close", () => {
    consecutiveFailures = 0;
    logger.warning(`circuit ${name} closed: dependency recovered`, { circuit_state: "closed" });
  });

  const breaker: Breaker = {
    name,
    get state() {
      return stateOf(cb);
    },
    async fire<T>(fn: () => Promise<T>): Promise<T> {
      let ran = false;
      try {
        const result = (await cb.fire(() => {
          ran = true;
          return fn();
        })) as T;
        consecutiveFailures = 0;
        return result;
      } catch (err) {
        if (!ran && (err as { code?: unknown }).code === "EOPENBREAKER") {
          rejected++;
          throw new CircuitOpenError(name, { cause: err });
        }
        if (countsAsOutage(err)) {
          consecutiveFailures++;
          const c = classifyError(err);
          lastError = { kind: c.kind, ...(c.code !== undefined ? { code: c.code } : {}), message: String((err as Error).message ?? err) };
          // In half-open opossum reopens by itself on a failure; here only the closed streak matters.
          if (consecutiveFailures >= failureThreshold && stateOf(cb) === "closed") cb.open();
        }
        throw err;
      }
    },
    snapshot: () => ({
      name,
      state: stateOf(cb),
      consecutiveFailures,
      failureThreshold,
      resetTimeoutMs,
      ...(openedAt !== undefined ? { openedAt } : {}),
      rejected,
      ...(lastError !== undefined ? { lastError } : {}),
    }),
    shutdown: () => {
      cb.shutdown();
      registry.delete(name);
    },
  };
  registry.set(name, breaker);
  return breaker;
}

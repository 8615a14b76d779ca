// Retry of transient failures with exponential backoff and FULL jitter, on p-retry.
//
// p-retry (v9) only offers "delay x random(1..2)"; full jitter (delay = random(0, min(cap, base*2^n)))
// is not built in. So p-retry keeps the loop, the attempt count and the abort handling, its own delay
// is switched off (minTimeout 0), and our delay is slept inside its awaited `shouldRetry` hook, which
// p-retry only calls when it would retry anyway.
//
// Budget: every attempt is bounded (the preset's attemptTimeoutMs, or the caller's), so one withRetry
// call can take at most worstCaseBudgetMs(preset). EVENT_RETRY_PLAN lists the retried steps of one
// orchestrator event with the bounds the code uses; a test pins that its worst case fits the timeout
// each stack deploys. The budget is also enforced structurally: each event (a push, a scheduled run)
// runs inside runWithDeadline(start + eventBudgetMs(declared timeout), ...), and every withRetry
// underneath caps its attempts to the time left and starts no retry that could not finish before it.
import { AsyncLocalStorage } from "node:async_hooks";
import pRetry from "p-retry";
import { classifyError, isTransient } from "./errors.ts";
import { AttemptTimeoutError, errorCategory, WrappingError, type ErrorCategory } from "../core/error-family.ts";
import { createLogger, type Logger } from "./logger.ts";

export interface RetryPreset {
  name: string;
  /** Total attempts, including the first. */
  attempts: number;
  baseMs: number;
  capMs: number;
  /** Upper bound of one attempt; a slower attempt fails with a transient RetryAttemptTimeoutError. */
  attemptTimeoutMs: number;
  /** The server may ask for a longer delay (HTTP Retry-After), honoured up to capMs. */
  honoursServerDelay?: boolean;
}

export const RETRY_PRESETS = {
  firestoreWrite: { name: "firestoreWrite", attempts: 3, baseMs: 1000, capMs: 10000, attemptTimeoutMs: 2500 },
  // Reads (the scheduled jobs' range query) are retried like writes, under their own name in the logs.
  firestoreRead: { name: "firestoreRead", attempts: 3, baseMs: 1000, capMs: 10000, attemptTimeoutMs: 2500 },
  bigqueryMerge: { name: "bigqueryMerge", attempts: 3, baseMs: 1000, capMs: 15000, attemptTimeoutMs: 4000 },
  bigqueryInsert: { name: "bigqueryInsert", attempts: 3, baseMs: 500, capMs: 8000, attemptTimeoutMs: 2000 },
  pubsubPublish: { name: "pubsubPublish", attempts: 3, baseMs: 250, capMs: 4000, attemptTimeoutMs: 2000 },
  slack: { name: "slack", attempts: 3, baseMs: 500, capMs: 5000, attemptTimeoutMs: 1500, honoursServerDelay: true },
} as const satisfies Record<string, RetryPreset>;

/**
 * Cloud Functions' own default timeout (60 s). Only for code built without a declared timeout
 * (in-process tests); deployed functions get theirs from FUNCTION_TIMEOUT_SECONDS (runtime-env.ts).
 */
export const PLATFORM_DEFAULT_TIMEOUT_MS = 60_000;
/** Kept free for the handler's own work (parsing, decision, response), at most a tenth of the timeout. */
export const HANDLER_MARGIN_MS = 5_000;

/** What one event may spend on retries, from its start: the declared timeout minus the handler margin. */
export function eventBudgetMs(timeoutMs: number): number {
  return timeoutMs - Math.min(HANDLER_MARGIN_MS, Math.floor(timeoutMs / 10));
}

/**
 * Bound of one Firestore transaction attempt. The client never fails on its own while the network is
 * down, so this bound is what ends an attempt; under contention one runTransaction (with the client's
 * own ABORTED retries) is slow.
 */
export const TRANSACTION_ATTEMPT_TIMEOUT_MS = 20_000;

/** One retried step: its preset, and the attempt bound the code passes when it overrides the preset's. */
export interface PlannedStep {
  preset: RetryPreset;
  attemptTimeoutMs?: number;
}

/**
 * The retried steps one orchestrator event may take, each at most once, with the bounds the code
 * uses (the store takes its presets from here, the tracker its transaction bound).
 */
export const EVENT_RETRY_PLAN = {
  recordCompletion: { preset: RETRY_PRESETS.firestoreWrite, attemptTimeoutMs: TRANSACTION_ATTEMPT_TIMEOUT_MS },
  claimTriggerPublish: { preset: RETRY_PRESETS.firestoreWrite, attemptTimeoutMs: TRANSACTION_ATTEMPT_TIMEOUT_MS },
  publishTrigger: { preset: RETRY_PRESETS.pubsubPublish },
  markPublished: { preset: RETRY_PRESETS.firestoreWrite, attemptTimeoutMs: TRANSACTION_ATTEMPT_TIMEOUT_MS },
  // Or, when Firestore failed, the dataset check in its place (the same preset).
  insertCompletion: { preset: RETRY_PRESETS.bigqueryInsert },
  upsertStatus: { preset: RETRY_PRESETS.bigqueryMerge },
  insertExecutionLog: { preset: RETRY_PRESETS.bigqueryInsert },
  alert: { preset: RETRY_PRESETS.slack },
} as const satisfies Record<string, PlannedStep>;

/** The longest a plan can take: every step at its worst case. */
export function worstCasePlanMs(plan: Record<string, PlannedStep>): number {
  return Object.values(plan).reduce(
    (sum, step) => sum + worstCaseBudgetMs(step.attemptTimeoutMs === undefined ? step.preset : { ...step.preset, attemptTimeoutMs: step.attemptTimeoutMs }),
    0,
  );
}

/** Upper bound of the full-jitter delay before retry number `retryIndex` (0-based). */
export function backoffCeilingMs(preset: RetryPreset, retryIndex: number): number {
  return Math.min(preset.capMs, preset.baseMs * 2 ** retryIndex);
}

/** Full jitter: uniform in [0, ceiling). `random` returns [0, 1). */
export function fullJitterDelayMs(preset: RetryPreset, retryIndex: number, random: () => number): number {
  return Math.floor(random() * backoffCeilingMs(preset, retryIndex));
}

/** The longest one withRetry call with this preset can take: every attempt times out, every delay is maximal. */
export function worstCaseBudgetMs(preset: RetryPreset): number {
  let total = preset.attempts * preset.attemptTimeoutMs;
  for (let i = 0; i < preset.attempts - 1; i++) {
    total += preset.honoursServerDelay ? preset.capMs : backoffCeilingMs(preset, i);
  }
  return total;
}

/** Clock and randomness, injectable so tests run without real sleeps. */
export interface RetryRuntime {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  random(): number;
}

function realSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

const REAL_RUNTIME: RetryRuntime = { now: () => Date.now(), sleep: realSleep, random: Math.random };
let defaultRuntime: RetryRuntime = REAL_RUNTIME;

/**
 * Test hook: replace the clock/random used by every withRetry call that does not pass its own
 * (so tests of code that calls withRetry deep inside do not sleep for seconds). Returns a restore function.
 */
export function setDefaultRetryRuntime(runtime: Partial<RetryRuntime>): () => void {
  const previous = defaultRuntime;
  defaultRuntime = { ...previous, ...runtime };
  return () => {
    defaultRuntime = previous;
  };
}

const eventDeadline = new AsyncLocalStorage<number>();

/**
 * Runs fn with an ambient deadline (epoch ms on the runtime clock) that every withRetry inside it
 * honours, in addition to its own deadline options. Nested calls keep the earlier deadline.
 */
export function runWithDeadline<T>(deadlineAt: number, fn: () => Promise<T>): Promise<T> {
  const outer = eventDeadline.getStore();
  return eventDeadline.run(outer === undefined ? deadlineAt : Math.min(outer, deadlineAt), fn);
}

/** The ambient deadline set by runWithDeadline, if any. */
export function currentDeadline(): number | undefined {
  return eventDeadline.getStore();
}

export interface RetryInfo {
  op: string;
  /** The attempt that just failed (1-based). */
  attempt: number;
  delayMs: number;
  error: unknown;
}

export interface WithRetryOptions {
  signal?: AbortSignal;
  onRetry?: (info: RetryInfo) => void;
  /** Relative budget from the call: no retry starts whose delay would end after it. */
  deadlineMs?: number;
  /** Absolute deadline (epoch ms, on the runtime clock); the earlier of the two wins. */
  deadlineAt?: number;
  /** Overrides preset.attemptTimeoutMs. */
  attemptTimeoutMs?: number;
  /** A server-requested minimum delay for this error (e.g. Retry-After); honoured up to capMs when the preset allows. */
  serverDelayMs?: (err: unknown) => number | undefined;
  /** Overrides the transient check (e.g. the Slack alerter retries only 429/5xx). */
  retryable?: (err: unknown) => boolean;
  logger?: Logger;
  runtime?: Partial<RetryRuntime>;
}

/** An attempt that exceeded its time bound. Transient: the next attempt may be faster. */
export class RetryAttemptTimeoutError extends AttemptTimeoutError {
  override readonly name: string = "RetryAttemptTimeoutError";
  constructor(op: string, ms: number) {
    super(`${op}: attempt exceeded ${ms} ms`);
  }
}

/** Why withRetry stopped. */
export type RetryGaveUp = "not_transient" | "attempts_exhausted" | "deadline" | "server_delay_too_long" | "aborted";

/**
 * What withRetry rejects with once it stops: the last attempt's error as `cause`, untouched, and the
 * retry's bookkeeping beside it. Classified as its cause (errors.ts looks through it), so whether a
 * caller retries again or opens a breaker does not change by passing through withRetry.
 */
export class RetryGaveUpError extends WrappingError {
  override readonly name: string = "RetryGaveUpError";
  readonly op: string;
  /** Attempts made, including the first. */
  readonly attempts: number;
  readonly gaveUp: RetryGaveUp;
  constructor(op: string, attempts: number, gaveUp: RetryGaveUp, cause: unknown) {
    super(`${op} failed after ${attempts} attempt(s) (${gaveUp.replaceAll("_", " ")}): ${cause instanceof Error ? cause.message : String(cause)}`, cause);
    this.op = op;
    this.attempts = attempts;
    this.gaveUp = gaveUp;
  }

  /** The cause's own category when it is one of ours; otherwise by the classification. */
  get category(): ErrorCategory {
    return errorCategory(this.cause) ?? (isTransient(this.cause) ? "transient" : "permanent");
  }
}

let moduleLogger: Logger | undefined;
function fallbackLogger(): Logger {
  moduleLogger ??= createLogger({ component: "retry" });
  return moduleLogger;
}

async function runWithTimeout<T>(
  op: string,
  fn: (attempt: number, signal: AbortSignal) => Promise<T>,
  attempt: number,
  timeoutMs: number,
): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new RetryAttemptTimeoutError(op, timeoutMs);
      reject(err); // settle first, so a late result released by the abort cannot win the race
      controller.abort(err);
    }, timeoutMs);
    timer.unref();
  });
  try {
    return await Promise.race([fn(attempt, controller.signal), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs fn, retrying transient failures (isTransient) with full-jitter backoff per the preset.
 * fn receives the attempt number (1-based) and a signal aborted when the attempt times out.
 * Each retry is logged at WARNING; once it stops, it rejects with a RetryGaveUpError whose cause is
 * the last attempt's error.
 */
export async function withRetry<T>(
  op: string,
  fn: (attempt: number, signal: AbortSignal) => Promise<T>,
  preset: RetryPreset,
  opts: WithRetryOptions = {},
): Promise<T> {
  const runtime: RetryRuntime = { ...defaultRuntime, ...opts.runtime };
  const logger = opts.logger ?? fallbackLogger();
  const retryable = opts.retryable ?? isTransient;
  const startedAt = runtime.now();
  const deadlines = [
    opts.deadlineMs !== undefined ? startedAt + opts.deadlineMs : Infinity,
    opts.deadlineAt ?? Infinity,
    eventDeadline.getStore() ?? Infinity,
  ];
  const deadline = Math.min(...deadlines);
  const attemptTimeoutMs = opts.attemptTimeoutMs ?? preset.attemptTimeoutMs;
  let lastAttempt = 0;
  let gaveUp: RetryGaveUp | undefined;

  try {
    return await pRetry(
      (attempt) => {
        lastAttempt = attempt;
        const remaining = deadline - runtime.now();
        return runWithTimeout(op, fn, attempt, Math.max(1, Math.min(attemptTimeoutMs, remaining)));
      },
      {
        retries: preset.attempts - 1,
        minTimeout: 0, // our full-jitter delay is slept in shouldRetry
        ...(opts.signal ? { signal: opts.signal } : {}),
        shouldRetry: async ({ error, attemptNumber }) => {
          if (!retryable(error)) {
            gaveUp = "not_transient";
            return false;
          }
          let delayMs = fullJitterDelayMs(preset, attemptNumber - 1, runtime.random);
          const requested = opts.serverDelayMs?.(error);
          if (requested !== undefined) {
            if (!preset.honoursServerDelay || requested > preset.capMs) {
              gaveUp = "server_delay_too_long";
              return false;
            }
            delayMs = Math.max(delayMs, requested);
          }
          // A retry that could not finish before the deadline is not started: the caller fails in
          // time (a non-2xx, so Pub/Sub redelivers) instead of being cut off by the platform.
          if (runtime.now() + delayMs + attemptTimeoutMs > deadline) {
            gaveUp = "deadline";
            return false;
          }
          const classification = classifyError(error);
          logger.warning(`retrying ${op} after transient failure`, {
            op,
            preset: preset.name,
            attempt: attemptNumber,
            max_attempts: preset.attempts,
            delay_ms: delayMs,
            error_kind: classification.kind,
            error_code: classification.code,
            error,
          });
          opts.onRetry?.({ op, attempt: attemptNumber, delayMs, error });
          await runtime.sleep(delayMs, opts.signal);
          return true;
        },
      },
    );
  } catch (err) {
    if (opts.signal?.aborted) gaveUp = "aborted";
    // p-retry stops on its own when attempts run out, or on a non-network TypeError, without asking us.
    gaveUp ??= lastAttempt >= preset.attempts ? "attempts_exhausted" : "not_transient";
    throw new RetryGaveUpError(op, lastAttempt, gaveUp, err);
  }
}

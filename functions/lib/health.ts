// GET /health: dependency checks run in parallel, each bounded by a timeout, the result cached so a
// burst of probes (uptime checks, load balancers) costs the dependencies one round of reads per TTL.
// 200 when every dependency answers, 503 ("degraded") otherwise. A failed check is reported in the
// body and as the 503, never thrown: that response is the decision. Each check needs only permissions
// of the function's contract (functions/core/permissions.ts), so it fails for the function's own reasons.
import type { BigQuery } from "@google-cloud/bigquery";
import type { Firestore } from "@google-cloud/firestore";
import type { PubSub } from "@google-cloud/pubsub";
import { breakerSnapshots, type BreakerSnapshot } from "./circuit-breaker.ts";
import { errorType } from "./errors.ts";
import type { Logger } from "./logger.ts";
import { PUBSUB_PUBLISH } from "../core/permissions.ts";
import { AttemptTimeoutError, PermanentError } from "../core/error-family.ts";

/**
 * One dependency's check, bounded by the checker's timeout. `prepare`, when present, runs first and
 * outside that bound: loading a client library on a cold instance says nothing about the dependency.
 */
export type DependencyCheck = ((signal: AbortSignal) => Promise<unknown>) & { prepare?: () => Promise<unknown> };

export interface DependencyStatus {
  healthy: boolean;
  latency_ms: number;
  error?: string;
}

export interface HealthBody {
  status: "healthy" | "degraded";
  service: string;
  /** The code hash of the deployed bundle. */
  version: string;
  uptime_seconds: number;
  dependencies: Record<string, DependencyStatus>;
  /** Circuit breakers of this instance (informational; they do not change the status). */
  circuits: BreakerSnapshot[];
  cached: boolean;
  cache_age_seconds: number;
  checked_at: string;
}

export interface HealthResult {
  statusCode: 200 | 503;
  body: HealthBody;
}

export interface HealthCheckerOptions {
  service: string;
  version: string;
  checks: Record<string, DependencyCheck>;
  timeoutMs?: number;
  cacheTtlMs?: number;
  /** Clock for the cache, uptime and checked_at (ms since epoch). */
  now?: () => number;
  logger?: Logger;
}

export interface HealthChecker {
  check(): Promise<HealthResult>;
}

export class HealthCheckTimeoutError extends AttemptTimeoutError {
  override readonly name: string = "HealthCheckTimeoutError";
  constructor(ms: number) {
    super(`health check timed out after ${ms} ms`);
  }
}

async function runCheck(check: DependencyCheck, timeoutMs: number): Promise<DependencyStatus> {
  if (check.prepare !== undefined) {
    try {
      await check.prepare();
    } catch (err) {
      return { healthy: false, latency_ms: 0, error: `${errorType(err)}: ${err instanceof Error ? err.message : String(err)}`.slice(0, 500) };
    }
  }
  const controller = new AbortController();
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new HealthCheckTimeoutError(timeoutMs);
      reject(err);
      controller.abort(err);
    }, timeoutMs);
    timer.unref();
  });
  try {
    await Promise.race([check(controller.signal), timeout]);
    return { healthy: true, latency_ms: Math.round(performance.now() - started) };
  } catch (err) {
    // Reported in the body and as a 503 by the caller.
    const message = err instanceof Error ? err.message : String(err);
    return {
      healthy: false,
      latency_ms: Math.round(performance.now() - started),
      error: `${errorType(err)}: ${message}`.slice(0, 500),
    };
  } finally {
    clearTimeout(timer);
  }
}

export const DEFAULT_HEALTH_CHECK_TIMEOUT_MS = 8_000;

export function createHealthChecker(options: HealthCheckerOptions): HealthChecker {
  const now = options.now ?? Date.now;
  // The checks run in parallel under the uptime check's 10 s timeout; a cold instance's first check
  // sets up its gRPC channels, which takes seconds on a busy host, so each gets 8 s.
  const timeoutMs = options.timeoutMs ?? DEFAULT_HEALTH_CHECK_TIMEOUT_MS;
  const cacheTtlMs = options.cacheTtlMs ?? 30_000;
  const startedAt = now();
  let cache: { result: HealthResult; at: number } | undefined;
  let inflight: Promise<HealthResult> | undefined;

  async function runAll(): Promise<HealthResult> {
    const names = Object.keys(options.checks);
    const statuses = await Promise.all(names.map((name) => runCheck(options.checks[name]!, timeoutMs)));
    const dependencies: Record<string, DependencyStatus> = {};
    names.forEach((name, i) => (dependencies[name] = statuses[i]!));
    const healthy = statuses.every((s) => s.healthy);
    const at = now();
    const result: HealthResult = {
      statusCode: healthy ? 200 : 503,
      body: {
        status: healthy ? "healthy" : "degraded",
        service: options.service,
        version: options.version,
        uptime_seconds: Math.floor((at - startedAt) / 1000),
        dependencies,
        circuits: breakerSnapshots(),
        cached: false,
        cache_age_seconds: 0,
        checked_at: new Date(at).toISOString(),
      },
    };
    if (!healthy) {
      options.logger?.warning(`health degraded: ${names.filter((_, i) => !statuses[i]!.healthy).join(", ")}`, {
        dependencies,
      });
    }
    cache = { result, at };
    return result;
  }

  return {
    async check() {
      const t = now();
      if (cache !== undefined && t - cache.at < cacheTtlMs) {
        const { result } = cache;
        return {
          statusCode: result.statusCode,
          body: {
            ...result.body,
            uptime_seconds: Math.floor((t - startedAt) / 1000),
            cached: true,
            cache_age_seconds: Math.floor((t - cache.at) / 1000),
          },
        };
      }
      // Concurrent probes while a check runs share it.
      inflight ??= runAll().finally(() => {
        inflight = undefined;
      });
      return inflight;
    },
  };
}

/**
 * Firestore: one document get (datastore.entities.get, which every function's contract holds; a
 * missing document is fine).
 */
export function firestoreCheck(db: Firestore, docPath = "_health/probe"): DependencyCheck {
  return async () => {
    await db.doc(docPath).get();
  };
}

/**
 * BigQuery: the dataset's metadata (datasets.get: one API call, no query cost). The contract holds it on
 * the dataset (roles/bigquery.dataEditor there includes it).
 */
export function bigqueryCheck(bq: BigQuery, datasetId: string): DependencyCheck {
  return async () => {
    await bq.dataset(datasetId).getMetadata();
  };
}

/** The account lacks a permission its work needs: health fails, naming it. */
export class PermissionNotHeldError extends PermanentError {
  override readonly name: string = "PermissionNotHeldError";
  constructor(permission: string, resource: string) {
    super(`${permission} is not held on ${resource}`);
  }
}

const GRPC_UNIMPLEMENTED = 12;

/**
 * Pub/Sub: asks IAM whether this function may publish to the topic (testIamPermissions needs no
 * permission of its own). Not the topic's metadata: topics.get is not in roles/pubsub.publisher, the
 * only Pub/Sub role a function holds, so a metadata check fails on a healthy function. A missing
 * topic fails the call (NOT_FOUND) or holds nothing; both are unhealthy.
 *
 * The Pub/Sub emulator has no IAM and answers UNIMPLEMENTED: there, and only there (the client is in
 * emulator mode), nothing can be denied, so the check falls back to the topic's existence and says so
 * once in the log. A real endpoint answering UNIMPLEMENTED still fails the check.
 */
export function pubsubPublishCheck(pubsub: PubSub, topicName: string, logger?: Logger): DependencyCheck {
  let fallbackLogged = false;
  return async () => {
    const topic = pubsub.topic(topicName);
    let granted: Record<string, boolean>;
    try {
      [granted] = await topic.iam.testPermissions([PUBSUB_PUBLISH]);
    } catch (err) {
      if (!(pubsub.isEmulator && (err as { code?: unknown }).code === GRPC_UNIMPLEMENTED)) throw err;
      if (!fallbackLogged) {
        fallbackLogged = true;
        logger?.info(`health: the Pub/Sub emulator has no IAM; checking that topic ${topicName} exists instead of ${PUBSUB_PUBLISH}`);
      }
      await topic.getMetadata();
      return;
    }
    if (granted[PUBSUB_PUBLISH] !== true) throw new PermissionNotHeldError(PUBSUB_PUBLISH, topic.name);
  };
}

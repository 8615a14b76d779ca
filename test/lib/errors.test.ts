import assert from "node:assert/strict";
import fc from "fast-check";
import { CircuitOpenError, GRPC_STATUS, classifyError, errorType, isContention, isTransient } from "../../functions/lib/errors.ts";
import {
  AttemptTimeoutError,
  ConfigurationError,
  ContractViolationError,
  errorCategory,
  OrchestrationError,
  TransientError,
  unwrapContext,
} from "../../functions/core/error-family.ts";
import { RetryAttemptTimeoutError, RetryGaveUpError } from "../../functions/lib/retry.ts";
import { HealthCheckTimeoutError, PermissionNotHeldError } from "../../functions/lib/health.ts";
import { SlackWebhookError } from "../../functions/lib/slack.ts";
import { BigQueryInsertError } from "../../functions/lib/bigquery-store.ts";
import { InvalidIdentifierError } from "../../functions/lib/bigquery-sql.ts";
import { RuntimeEnvError } from "../../functions/core/runtime-env.ts";
import { PipelineConfigError } from "../../functions/core/pipeline-problems.ts";

// Shapes as the clients build them: google-gax GoogleError (numeric gRPC code + details),
// @google-cloud/common ApiError (HTTP code + errors[].reason), gaxios (status/code), Node system errors.
function grpcError(code: number, message = "rpc failed"): Error {
  return Object.assign(new Error(`${code} ${message}`), { code, details: message, metadata: {} });
}
function apiError(code: number, reason?: string, message = "api failed"): Error {
  return Object.assign(new Error(message), { code, errors: reason ? [{ reason, message }] : [] });
}
function systemError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:1`), { code, errno: -1, syscall: "connect" });
}

describe("errors: classification", () => {
  const transientGrpc = ["ABORTED", "UNAVAILABLE", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED", "INTERNAL"] as const;
  const permanentGrpc = ["INVALID_ARGUMENT", "PERMISSION_DENIED", "NOT_FOUND", "ALREADY_EXISTS", "FAILED_PRECONDITION", "UNAUTHENTICATED"] as const;

  for (const name of transientGrpc) {
    it(`gRPC ${name} is transient, as number and as name`, () => {
      assert.deepEqual(classifyError(grpcError(GRPC_STATUS[name])), { transient: true, kind: "grpc", code: name });
      assert.equal(isTransient({ code: name, message: "x" }), true);
    });
  }
  for (const name of permanentGrpc) {
    it(`gRPC ${name} is not transient`, () => {
      assert.deepEqual(classifyError(grpcError(GRPC_STATUS[name])), { transient: false, kind: "grpc", code: name });
      assert.equal(isTransient({ code: name }), false);
    });
  }

  it("HTTP 408, 429 and every 5xx are transient; other 4xx are not", () => {
    fc.assert(
      fc.property(fc.integer({ min: 400, max: 599 }), (status) => {
        const expected = status === 408 || status === 429 || status >= 500;
        assert.equal(isTransient(apiError(status)), expected);
        // gaxios puts the status on `status` and on `response.status`
        assert.equal(isTransient(Object.assign(new Error("g"), { status, response: { status } })), expected);
      }),
    );
  });

  it("BigQuery transient reasons win over the HTTP status (rateLimitExceeded arrives as 403)", () => {
    assert.deepEqual(classifyError(apiError(403, "rateLimitExceeded")), { transient: true, kind: "bigquery", code: "rateLimitExceeded" });
    assert.equal(isTransient(apiError(500, "backendError")), true);
    assert.equal(isTransient(apiError(400, "internalError")), true);
    assert.deepEqual(classifyError(apiError(400, "invalidQuery")), { transient: false, kind: "bigquery", code: "invalidQuery" });
    assert.equal(isTransient(apiError(403, "quotaExceeded")), false);
  });

  it("insertAll partial failures with a transient row reason are transient", () => {
    const partial = Object.assign(new Error("A failure occurred during this request."), {
      name: "PartialFailureError",
      errors: [{ row: { a: 1 }, errors: [{ reason: "backendError", message: "x" }] }],
    });
    assert.equal(isTransient(partial), true);
  });

  it("a concurrent-update DML conflict is transient", () => {
    const err = apiError(400, "invalidQuery", "Could not serialize access to table proj:nba_orchestration.phase_completion_status due to concurrent update");
    assert.equal(isTransient(err), true);
  });

  for (const code of ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EAI_AGAIN"]) {
    it(`Node network error ${code} is transient`, () => {
      assert.deepEqual(classifyError(systemError(code)), { transient: true, kind: "network", code });
    });
  }

  it("socket hang up and undici 'fetch failed' (cause ECONNREFUSED) are transient", () => {
    assert.equal(isTransient(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" })), true);
    assert.equal(isTransient(new Error("socket hang up")), true);
    const fetchFailed = new TypeError("fetch failed", { cause: systemError("ECONNREFUSED") });
    assert.deepEqual(classifyError(fetchFailed), { transient: true, kind: "network", code: "ECONNREFUSED" });
  });

  it("a circuit-open error is not transient, even when wrapped", () => {
    assert.deepEqual(classifyError(new CircuitOpenError("firestore")), { transient: false, kind: "circuit_open", code: "CIRCUIT_OPEN" });
    assert.equal(isTransient(new Error("wrapped", { cause: new CircuitOpenError("x") })), false);
  });

  it("unknown errors and non-errors are not transient", () => {
    assert.equal(isTransient(new Error("bug")), false);
    assert.equal(isTransient(new TypeError("x is not a function")), false);
    assert.equal(isTransient("string"), false);
    assert.equal(isTransient(undefined), false);
    assert.equal(isTransient(null), false);
  });

  it("errorType gives a stable label", () => {
    assert.equal(errorType(grpcError(14)), "grpc:UNAVAILABLE");
    assert.equal(errorType(apiError(503)), "http:503");
    assert.equal(errorType(new RangeError("r")), "unknown:RangeError");
  });

  it("classification never throws, whatever is thrown", () => {
    fc.assert(fc.property(fc.anything(), (value) => {
      const c = classifyError(value);
      assert.equal(typeof c.transient, "boolean");
    }));
  });
});

describe("errors: the error family", () => {
  // Shapes the classifier decides on, as the clients and this project throw them.
  const shapes = (): unknown[] => [
    grpcError(GRPC_STATUS.UNAVAILABLE),
    grpcError(GRPC_STATUS.ABORTED, "contention"),
    grpcError(GRPC_STATUS.INVALID_ARGUMENT),
    apiError(403, "rateLimitExceeded"),
    apiError(404, "notFound"),
    apiError(400, undefined, "Could not serialize access to table t due to concurrent update"),
    systemError("ECONNREFUSED"),
    Object.assign(new TypeError("fetch failed"), { cause: systemError("ECONNRESET") }),
    new TypeError("fetch failed"),
    new RetryAttemptTimeoutError("op", 10),
    new HealthCheckTimeoutError(10),
    new CircuitOpenError("firestore"),
    new SlackWebhookError(503, "busy", undefined),
    new SlackWebhookError(400, "bad", undefined),
    new PermissionNotHeldError("pubsub.topics.publish", "t"),
    new ConfigurationError("bad env"),
    new Error("a bug"),
  ];
  const gaveUp = ["not_transient", "attempts_exhausted", "deadline", "server_delay_too_long", "aborted"] as const;

  it("a retry's wrapping error classifies exactly as what it wraps (retry, breaker and labels unchanged)", () => {
    fc.assert(
      fc.property(fc.nat(shapes().length - 1), fc.integer({ min: 1, max: 2 }), fc.constantFrom(...gaveUp), fc.integer({ min: 1, max: 5 }), (i, depth, why, attempts) => {
        const cause = shapes()[i];
        let wrapped: unknown = cause;
        for (let d = 0; d < depth; d++) wrapped = new RetryGaveUpError("op", attempts, why, wrapped);
        assert.deepEqual(classifyError(wrapped), classifyError(cause));
        assert.equal(isContention(wrapped), isContention(cause));
        assert.equal(errorType(wrapped), errorType(cause));
        assert.equal(unwrapContext(wrapped), cause);
      }),
    );
  });

  it("our timeouts are transient by class, not by borrowing the platform's TimeoutError name", () => {
    for (const err of [new RetryAttemptTimeoutError("op", 10), new HealthCheckTimeoutError(10)]) {
      assert.notEqual(err.name, "TimeoutError");
      assert.ok(err instanceof AttemptTimeoutError && err instanceof TransientError && err instanceof OrchestrationError);
      assert.equal(err.category, "transient");
      assert.deepEqual(classifyError(err), { transient: true, kind: "timeout", code: "TimeoutError" });
    }
    // The platform's own (AbortSignal.timeout) still reads as a timeout.
    assert.deepEqual(classifyError(new DOMException("timed out", "TimeoutError")), { transient: true, kind: "timeout", code: "TimeoutError" });
  });

  it("every error class of the runtime is one family, with the category a caller decides on", () => {
    const cases: [OrchestrationError, string, string][] = [
      [new CircuitOpenError("x"), "CircuitOpenError", "unavailable"],
      [new SlackWebhookError(429, "slow down", 1000), "SlackWebhookError", "transient"],
      [new SlackWebhookError(404, "no such hook", undefined), "SlackWebhookError", "permanent"],
      [new BigQueryInsertError("t", [{ row: {}, errors: [{ reason: "backendError" }] }], undefined, undefined), "BigQueryInsertError", "transient"],
      [new BigQueryInsertError("t", [{ row: {}, errors: [{ reason: "invalid" }] }], undefined, undefined), "BigQueryInsertError", "permanent"],
      [new PermissionNotHeldError("p", "r"), "PermissionNotHeldError", "permanent"],
      [new InvalidIdentifierError("bad"), "InvalidIdentifierError", "configuration"],
      [new RuntimeEnvError(["PROJECT_ID: required"]), "RuntimeEnvError", "configuration"],
      [new PipelineConfigError("pipeline", ["x"]), "PipelineConfigError", "configuration"],
      [new ContractViolationError("broken"), "ContractViolationError", "contract"],
      [new RetryGaveUpError("op", 3, "attempts_exhausted", grpcError(GRPC_STATUS.UNAVAILABLE)), "RetryGaveUpError", "transient"],
      [new RetryGaveUpError("op", 1, "not_transient", new ConfigurationError("x")), "RetryGaveUpError", "configuration"],
    ];
    for (const [err, name, category] of cases) {
      assert.ok(err instanceof OrchestrationError, name);
      assert.equal(err.name, name);
      assert.equal(err.category, category, name);
      assert.equal(errorCategory(err), category);
    }
    const cause = new Error("root");
    assert.equal(new ConfigurationError("wrapped", { cause }).cause, cause, "ES2022 cause");
    assert.equal(errorCategory(new Error("plain")), undefined);
  });
});

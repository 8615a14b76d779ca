// Each error a caller decides on is of the family's class that says what to do (fix the deployment,
// fix the code or the data), not a plain Error a caller can only match by message.
import { strict as assert } from "node:assert";
import { ConfigurationError, ContractViolationError, errorCategory } from "../../functions/core/error-family.ts";
import { BoundedMap } from "../../functions/core/bounded-map.ts";
import { emptyPhaseState, executionLogRowOf } from "../../functions/core/phase-state.ts";
import { parseScheduledSettings, SCHEDULED_ENV_KEYS } from "../../functions/core/scheduled-config.ts";
import { latchCauseOf } from "../../functions/core/sweep-rules.ts";
import { resolvePipeline, transitionById } from "../../functions/core/pipeline-names.ts";
import { pipelineFromEnv } from "../../functions/core/pipeline-serialize.ts";
import { DEFAULT_PIPELINE } from "../../functions/core/pipeline-defaults.ts";

const PIPELINE = resolvePipeline(DEFAULT_PIPELINE);
const TRANSITION = PIPELINE.transitions[0]!;
const DOC = emptyPhaseState(TRANSITION.id, "2026-03-01", "daily", new Date("2026-03-01T12:00:00Z"));

/** assert.throws with the class and the message, plus the category callers switch on. */
function throwsOf(fn: () => unknown, cls: typeof ConfigurationError | typeof ContractViolationError, message: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof cls, `${String(error)} is not a ${cls.name}`);
    assert.equal(errorCategory(error), cls === ConfigurationError ? "configuration" : "contract");
    assert.match((error as Error).message, message);
    return true;
  });
}

describe("typed errors where a caller decides", () => {
  it("scheduled-job settings out of range: ConfigurationError", () => {
    throwsOf(() => parseScheduledSettings({ [SCHEDULED_ENV_KEYS.lookbackDays]: "99" }), ConfigurationError, /invalid scheduled-job settings/);
  });

  it("pipeline config missing or not JSON, an unknown transition id: ConfigurationError", () => {
    throwsOf(() => pipelineFromEnv(undefined), ConfigurationError, /is not set/);
    throwsOf(() => pipelineFromEnv("{not json"), ConfigurationError, /is not valid JSON/);
    throwsOf(() => transitionById(PIPELINE, "phase9-to-phase10"), ConfigurationError, /unknown transition id "phase9-to-phase10"/);
  });

  it("an execution-log row of a document without a trigger: ContractViolationError", () => {
    throwsOf(() => executionLogRowOf(DOC, TRANSITION, { functionName: "f", codeHash: "h" }), ContractViolationError, /has no trigger to log/);
  });

  it("a sweeper latch cause of a document without entries: ContractViolationError", () => {
    throwsOf(() => latchCauseOf(DOC), ContractViolationError, /no entries/);
  });

  it("a BoundedMap of capacity 0 or 1.5: ContractViolationError", () => {
    throwsOf(() => new BoundedMap(0), ContractViolationError, /positive integer/);
    throwsOf(() => new BoundedMap(1.5), ContractViolationError, /positive integer/);
    assert.equal(new BoundedMap(1).capacity, 1);
  });
});

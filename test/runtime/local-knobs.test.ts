// The test/local knobs of the orchestrator runtime: parsed strictly, and refused outright in prod.
import assert from "node:assert/strict";
import { LOCAL_KNOBS, parseLocalKnobs } from "../../functions/lib/orchestrator-runtime.ts";

describe("orchestrator local knobs", () => {
  it("none set: production behaviour", () => {
    assert.deepEqual(parseLocalKnobs({ DEPLOY_ENV: "prod" }), { noRetryBackoff: false });
  });

  it("parses each knob outside prod", () => {
    const knobs = parseLocalKnobs({
      DEPLOY_ENV: "dev",
      [LOCAL_KNOBS.firestoreAttemptTimeoutMs]: "700",
      [LOCAL_KNOBS.noRetryBackoff]: "1",
    });
    assert.deepEqual(knobs, { firestoreAttemptTimeoutMs: 700, noRetryBackoff: true });
  });

  it("any knob in prod is an error naming it", () => {
    for (const key of Object.values(LOCAL_KNOBS)) {
      assert.throws(() => parseLocalKnobs({ DEPLOY_ENV: "prod", [key]: "1" }), new RegExp(`${key}.*must not be set when DEPLOY_ENV is prod`));
    }
  });

  it("malformed values are errors, not defaults", () => {
    assert.throws(() => parseLocalKnobs({ [LOCAL_KNOBS.firestoreAttemptTimeoutMs]: "fast" }), /ORCHESTRATOR_FIRESTORE_ATTEMPT_TIMEOUT_MS must be an integer/);
    assert.throws(() => parseLocalKnobs({ [LOCAL_KNOBS.firestoreAttemptTimeoutMs]: "10" }), /\[50, 60000\]/);
    assert.throws(() => parseLocalKnobs({ [LOCAL_KNOBS.noRetryBackoff]: "yes" }), /must be 0 or 1/);
  });
});

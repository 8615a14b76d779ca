// The test/local knobs of the orchestrator runtime: parsed strictly, and refused outright in prod.
import assert from "node:assert/strict";
import { BIGQUERY_API_ENDPOINT, LOCAL_KNOBS, parseLocalKnobs } from "../../functions/lib/orchestrator-runtime.ts";
import { LOCAL_ONLY_ENV_KEYS } from "../../functions/core/runtime-env.ts";

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

  it("any knob in staging or prod is an error naming it", () => {
    for (const environment of ["staging", "prod"]) {
      for (const key of Object.values(LOCAL_KNOBS)) {
        assert.throws(() => parseLocalKnobs({ DEPLOY_ENV: environment, [key]: "1" }), new RegExp(`${key}.*must not be set when DEPLOY_ENV is ${environment}`));
      }
    }
  });

  it("every knob and the BigQuery endpoint the runtime reads are in the environment contract's local-only list", () => {
    for (const key of [...Object.values(LOCAL_KNOBS), BIGQUERY_API_ENDPOINT]) assert.ok(LOCAL_ONLY_ENV_KEYS.includes(key), key);
  });

  it("malformed values are errors, not defaults", () => {
    assert.throws(() => parseLocalKnobs({ [LOCAL_KNOBS.firestoreAttemptTimeoutMs]: "fast" }), /ORCHESTRATOR_FIRESTORE_ATTEMPT_TIMEOUT_MS must be an integer/);
    assert.throws(() => parseLocalKnobs({ [LOCAL_KNOBS.firestoreAttemptTimeoutMs]: "10" }), /\[50, 60000\]/);
    assert.throws(() => parseLocalKnobs({ [LOCAL_KNOBS.noRetryBackoff]: "yes" }), /must be 0 or 1/);
  });
});

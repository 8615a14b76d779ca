import { strict as assert } from "node:assert";
import { ConfigurationError } from "../../functions/core/error-family.ts";
import { claimsCollectionFor } from "../../functions/lib/completion-tracker.ts";

describe("completion tracker: configuration errors", () => {
  it("a phase-state collection not named <prefix>phase_state without claimsCollection: ConfigurationError", () => {
    assert.throws(() => claimsCollectionFor("odd_collection"), (error: unknown) => error instanceof ConfigurationError && /pass claimsCollection/.test(error.message));
    assert.equal(claimsCollectionFor("dev_phase_state"), "dev_sweeper_publish_claims");
  });
});

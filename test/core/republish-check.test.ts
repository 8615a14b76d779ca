// The republisher's rule (functions/core/republish-check.ts): what the execution log said decides
// between marking, publishing, waiting and publishing without an answer.
import assert from "node:assert/strict";
import fc from "fast-check";
import { markPublishedPerExecutionLog, republishStep, UNCHECKED_PUBLISH_AFTER_GRACES } from "../../functions/core/republish-check.ts";
import { emptyPhaseState, type PhaseStateDoc } from "../../functions/core/phase-state.ts";

const LATCH = new Date("2026-01-16T08:00:00.000Z");
const trigger = { decidedAt: LATCH.toISOString() };

describe("republish check (pure)", () => {
  it("a logged trigger is only marked, an absent one published, whatever the time", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 * 86_400_000 }), fc.integer({ min: 1, max: 600_000 }), (elapsed, grace) => {
        const now = new Date(LATCH.getTime() + elapsed);
        assert.equal(republishStep("logged", trigger, now, grace), "mark_published");
        assert.equal(republishStep("absent", trigger, now, grace), "publish");
      }),
    );
  });

  it("no answer: wait strictly before the bound, publish unchecked from it on", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 * 86_400_000 }), fc.integer({ min: 1, max: 600_000 }), (elapsed, grace) => {
        const now = new Date(LATCH.getTime() + elapsed);
        const expected = elapsed >= UNCHECKED_PUBLISH_AFTER_GRACES * grace ? "publish_unchecked" : "wait";
        assert.equal(republishStep("unanswered", trigger, now, grace), expected);
      }),
    );
    const grace = 75_000;
    assert.equal(republishStep("unanswered", trigger, new Date(LATCH.getTime() + 3 * grace - 1), grace), "wait");
    assert.equal(republishStep("unanswered", trigger, new Date(LATCH.getTime() + 3 * grace), grace), "publish_unchecked");
  });

  it("marking from the log: published, by whom, no message id; a published trigger is left as is", () => {
    const base = emptyPhaseState("phase2-to-phase3", "2026-01-15", "daily", LATCH);
    const pending: PhaseStateDoc = {
      ...base,
      trigger: {
        triggerId: "phase2-to-phase3:2026-01-15:daily",
        state: "pending",
        reason: "all_complete",
        degraded: false,
        missing: [],
        decidedAt: LATCH.toISOString(),
        publishedAt: null,
        publishedMessageId: null,
        payload: {},
      },
    };
    const now = new Date(LATCH.getTime() + 60_000);
    const marked = markPublishedPerExecutionLog(pending, now, "run-2");
    assert.equal(marked.trigger?.state, "published");
    assert.equal(marked.trigger?.publishedBy, "run-2");
    assert.equal(marked.trigger?.publishedAt, now.toISOString());
    assert.equal(marked.trigger?.publishedMessageId, null);
    assert.equal(markPublishedPerExecutionLog(marked, new Date(now.getTime() + 1), "run-3"), marked);
  });
});

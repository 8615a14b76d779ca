// Trigger routing (functions/core/trigger-routing.ts) and its environment variable: in shadow mode no
// transition's trigger is routed to any live trigger topic, whatever the topic names; live is as before.
import assert from "node:assert/strict";
import fc from "fast-check";
import { loadPipeline, serializePipeline } from "../../functions/core/pipeline.ts";
import type { Pipeline, Transition } from "../../functions/core/pipeline-types.ts";
import { parseRuntimeEnv, RuntimeEnvError } from "../../functions/core/runtime-env.ts";
import { liveTriggerTopics, routeTriggers, shadowTopicName, triggerTopicFor } from "../../functions/core/trigger-routing.ts";

const base = loadPipeline();
const topicName = fc.stringMatching(/^[a-z][a-z0-9-]{2,30}$/);

describe("trigger routing", () => {
  it("shadow: every routed topic is a shadow topic and none is a live trigger topic (any names, shared outputs included)", () => {
    fc.assert(
      fc.property(fc.array(topicName, { minLength: 1, maxLength: 8 }), (outputs) => {
        const pipeline: Pipeline = { ...base, transitions: outputs.map((o, i) => ({ ...base.transitions[i % base.transitions.length]!, id: `t${i}`, outputTopicName: o }) as Transition) };
        const live = new Set(liveTriggerTopics(pipeline));
        const routed = routeTriggers(pipeline, "shadow");
        for (const [i, t] of routed.transitions.entries()) {
          assert.equal(t.outputTopicName, shadowTopicName(outputs[i]!));
          assert.equal(t.outputTopicName, triggerTopicFor("shadow", pipeline.transitions[i]!));
          // A name ending "-shadow" could only equal a live one if a live topic were itself "<x>-shadow".
          if (![...live].some((l) => l.endsWith("-shadow"))) assert.ok(!live.has(t.outputTopicName));
        }
        // Input topics and everything else unchanged.
        assert.deepEqual(routed.transitions.map((t) => t.inputTopicName), pipeline.transitions.map((t) => t.inputTopicName));
      }),
    );
  });

  it("live: the pipeline as it is", () => {
    assert.equal(routeTriggers(base, "live"), base);
    for (const t of base.transitions) assert.equal(triggerTopicFor("live", t), t.outputTopicName);
  });

  it("TRIGGER_MODE: shadow or live; absent means live (functions deployed before the mode existed); anything else refuses to start", () => {
    const env = {
      FUNCTION_NAME: "phase-sweeper",
      CODE_HASH: "a".repeat(64),
      GCP_PROJECT_ID: "p",
      BQ_DATASET: "d",
      FIRESTORE_COLLECTION_PREFIX: "",
      DEPLOY_ENV: "dev",
      PIPELINE_CONFIG: serializePipeline(base),
      FUNCTION_TIMEOUT_SECONDS: "300",
    };
    assert.equal(parseRuntimeEnv(env, "scheduled").triggerMode, "live");
    assert.equal(parseRuntimeEnv({ ...env, TRIGGER_MODE: "shadow" }, "scheduled").triggerMode, "shadow");
    assert.throws(() => parseRuntimeEnv({ ...env, TRIGGER_MODE: "Shadow" }, "scheduled"), (e: unknown) => e instanceof RuntimeEnvError && /TRIGGER_MODE/.test(e.message));
  });
});

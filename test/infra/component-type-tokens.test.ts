// Renaming a component class must not rename what is deployed: a component's type token is part of
// its URN and of every child's, so a changed token makes a preview replace each resource under it.
// The function component (class PipelineFunction, first named OrchestrationFunction) keeps its token.
import assert from "node:assert/strict";
import { componentType } from "../../infra/component.ts";
import { PIPELINE_FUNCTION_TYPE_NAME } from "../../infra/components/pipeline-function.ts";
import { planned, T } from "../policies/fixtures.ts";

describe("component type tokens stay stable across renames", function () {
  this.timeout(180_000);

  it("every deployed function sits under an orchestration:infra:OrchestrationFunction component, orchestrators and scheduled jobs alike", async () => {
    assert.equal(componentType(PIPELINE_FUNCTION_TYPE_NAME), "orchestration:infra:OrchestrationFunction");
    const resources = await planned("dev");
    const functions = resources.filter((r) => r.type === T.function);
    assert.ok(functions.length >= 6, `${functions.length} functions`);
    for (const fn of functions) {
      const parent = resources.find((r) => r.urn === fn.parent);
      assert.equal(parent?.type, "orchestration:infra:OrchestrationFunction", fn.name);
      assert.match(fn.urn, /orchestration:infra:OrchestrationFunction\$gcp:cloudfunctionsv2\/function:Function::/);
    }
    assert.ok(functions.some((f) => f.name.includes("sweeper")) && functions.some((f) => f.name.includes("orchestrator")));
  });
});

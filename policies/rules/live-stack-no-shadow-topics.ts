// A stack back in live mode (after a cutover) must not keep its shadow topics: nothing reads them, and
// a function still publishing there would look healthy while no phase downstream is triggered.
import type { StackValidationPolicy } from "@pulumi/policy";
import { describe, ofType } from "../lib/stack-graph.ts";
import { shadowFunctions, shadowTopics } from "../lib/trigger-mode.ts";
import { T } from "../lib/types.ts";

export const liveStackNoShadowTopics: StackValidationPolicy = {
  name: "live-stack-no-shadow-topics",
  description: "A stack whose functions publish live declares no shadow topics (<topic>-shadow) left over from a shadow period.",
  remediationSteps: "Finish the switch (docs/runbooks/cutover.md): with triggerMode live the program declares no shadow topics; remove any declared by hand.",
  enforcementLevel: "mandatory",
  validateStack: (args, report) => {
    if (ofType(args.resources, T.function).length === 0 || shadowFunctions(args.resources).length > 0) return;
    for (const topic of shadowTopics(args.resources)) {
      report(`${describe(topic)} is a shadow topic in a stack whose functions publish live: left over from a shadow period`, topic.urn);
    }
  },
};

// A function's memory, CPU and request concurrency must be a combination Cloud Run accepts (e.g.
// concurrency above 1 needs at least 1 CPU; memory above 1 GiB needs 1 CPU). The API rejects anything
// else half-way through an update, so the pack stops it at preview. The stack config checks the same
// rules (functions/core/instance-sizing.ts); this also covers a program that sets them another way.
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { instanceSizingProblems } from "../../functions/core/instance-sizing.ts";
import { forTypes } from "../lib/define.ts";
import { numberAt, stringAt, UNKNOWN } from "../lib/props.ts";
import { T } from "../lib/types.ts";

/** Cloud Functions' defaults when the field is unset. */
const DEFAULT_MEMORY = "256Mi";

export const functionInstanceSizing: ResourceValidationPolicy = {
  name: "function-instance-sizing",
  description: "A function's availableMemory, availableCpu and maxInstanceRequestConcurrency form a combination Cloud Run accepts.",
  remediationSteps: "Set functionCpu to \"1\" (or more) for functionConcurrency above 1, and keep functionMemory within what the CPU allows (see functions/core/instance-sizing.ts).",
  enforcementLevel: "mandatory",
  validateResource: forTypes([T.function], (props, _args, report) => {
    const memory = stringAt(props, "serviceConfig", "availableMemory");
    const cpu = stringAt(props, "serviceConfig", "availableCpu");
    const concurrency = numberAt(props, "serviceConfig", "maxInstanceRequestConcurrency");
    if (memory === UNKNOWN || cpu === UNKNOWN || concurrency === UNKNOWN) return;
    for (const problem of instanceSizingProblems({ memory: memory ?? DEFAULT_MEMORY, cpu, concurrency: concurrency ?? 1 })) report(problem);
  }),
};

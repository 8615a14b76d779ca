// A production orchestrator that scales to zero pays a cold start (bundle load, clients) on the
// first completion after a quiet period. Advisory: cost against latency is a judgement.
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { forTypes } from "../lib/define.ts";
import { ENVIRONMENT_CONFIG_SCHEMA, isProduction } from "../lib/environment.ts";
import type { EnvironmentConfig } from "../lib/environment.ts";
import { numberAt, UNKNOWN } from "../lib/props.ts";
import { T } from "../lib/types.ts";

export const functionMinInstancesProd: ResourceValidationPolicy = {
  name: "function-min-instances-prod",
  description: "In production every function keeps at least one instance warm (serviceConfig.minInstanceCount >= 1).",
  remediationSteps: "Set the functionMinInstances stack config to 1 in Pulumi.prod.yaml.",
  enforcementLevel: "advisory",
  configSchema: ENVIRONMENT_CONFIG_SCHEMA,
  validateResource: forTypes([T.function], (props, args, report) => {
    if (!isProduction(props, args.getConfig<EnvironmentConfig>())) return;
    const min = numberAt(props, "serviceConfig", "minInstanceCount") ?? 0;
    if (min !== UNKNOWN && min < 1) report(`production function scales to zero (minInstanceCount ${min}): the first message after a quiet period waits for a cold start`);
  }),
};

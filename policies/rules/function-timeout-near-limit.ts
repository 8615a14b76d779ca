// A push subscription's ack deadline must cover the function's timeout and Pub/Sub caps it at 600 s,
// so a push-triggered function whose timeout is near 600 s has no headroom left. Advisory.
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { forTypes } from "../lib/define.ts";
import { numberAt, UNKNOWN } from "../lib/props.ts";
import { T } from "../lib/types.ts";
import { PUSHED_FUNCTION_TIMEOUT_SECONDS } from "../../functions/core/platform-limits.ts";

export const PUSH_TIMEOUT_LIMIT_SECONDS = PUSHED_FUNCTION_TIMEOUT_SECONDS.max;
export const NEAR_LIMIT_FRACTION = 0.9;

export const functionTimeoutNearLimit: ResourceValidationPolicy = {
  name: "function-timeout-near-limit",
  description: `Function timeouts stay below ${NEAR_LIMIT_FRACTION * 100}% of the ${PUSH_TIMEOUT_LIMIT_SECONDS}s ceiling a push subscription's ack deadline can cover.`,
  remediationSteps: "Lower functionTimeoutSeconds, or split the work so one invocation finishes well within the ack deadline.",
  enforcementLevel: "advisory",
  configSchema: {
    properties: {
      limitSeconds: { type: "integer", minimum: 1, description: "The ceiling (default 600, Pub/Sub's largest ack deadline)." },
      nearFraction: { type: "number", minimum: 0, maximum: 1, description: "Fraction of the ceiling that counts as near (default 0.9)." },
    },
  },
  validateResource: forTypes([T.function], (props, args, report) => {
    const config = args.getConfig<{ limitSeconds?: number; nearFraction?: number }>();
    const limit = config.limitSeconds ?? PUSH_TIMEOUT_LIMIT_SECONDS;
    const near = limit * (config.nearFraction ?? NEAR_LIMIT_FRACTION);
    const timeout = numberAt(props, "serviceConfig", "timeoutSeconds");
    if (timeout === undefined || timeout === UNKNOWN) return;
    if (timeout > limit) report(`timeout ${timeout}s exceeds the ${limit}s a push subscription's ack deadline can cover`);
    else if (timeout >= near) report(`timeout ${timeout}s is within ${Math.round(limit - timeout)}s of the ${limit}s ceiling`);
  }),
};

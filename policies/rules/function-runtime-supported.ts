// Functions run on a supported Node runtime (Node 20 is decommissioned on Cloud
// Functions; a decommissioned runtime cannot be deployed or rebuilt).
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { forTypes } from "../lib/define.ts";
import { stringAt, UNKNOWN } from "../lib/props.ts";
import { T } from "../lib/types.ts";

/** The oldest Node major Cloud Functions still supports. */
export const MIN_NODE_MAJOR = 22;

export const functionRuntimeSupported: ResourceValidationPolicy = {
  name: "function-runtime-supported",
  description: `Every function runs on a supported Node.js runtime (nodejs${MIN_NODE_MAJOR} or later).`,
  remediationSteps: `Set buildConfig.runtime to "nodejs${MIN_NODE_MAJOR}" (the version the project pins in .nvmrc and package.json engines).`,
  enforcementLevel: "mandatory",
  configSchema: { properties: { minNodeMajor: { type: "integer", minimum: 1, description: "Oldest supported Node major." } } },
  validateResource: forTypes([T.function, T.functionV1], (props, args, report) => {
    const runtime = args.type === T.function ? stringAt(props, "buildConfig", "runtime") : stringAt(props, "runtime");
    if (runtime === UNKNOWN) return;
    const min = args.getConfig<{ minNodeMajor?: number }>().minNodeMajor ?? MIN_NODE_MAJOR;
    if (runtime === undefined) {
      report(`no runtime is set; set nodejs${min} or later`);
      return;
    }
    const m = /^nodejs(\d+)$/.exec(runtime);
    if (m === null) report(`runtime ${runtime} is not a Node.js runtime; this project's functions run on nodejs${min} or later`);
    else if (Number(m[1]) < min) report(`runtime ${runtime} is no longer supported; use nodejs${min} or later`);
  }),
};

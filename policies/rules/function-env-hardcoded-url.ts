// docs/ARCHITECTURE.md FM9: a service URL hard-coded into configuration went dead for three days. A URL in a
// function's environment should come from a resource of the stack (so it follows redeploys), not
// be typed in. Advisory: a URL of something outside the stack can be legitimate.
import type { StackValidationPolicy } from "@pulumi/policy";
import { at, keysOf, stringAt } from "../lib/props.ts";
import { urlsIn } from "../lib/secret-values.ts";
import { describe, ofType } from "../lib/stack-graph.ts";
import { T } from "../lib/types.ts";

export const functionEnvHardcodedUrl: StackValidationPolicy = {
  name: "function-env-hardcoded-url",
  description: "Function environment variables hold no URL that no resource of the stack produces (a hard-coded service URL goes stale silently).",
  remediationSteps: "Pass the URL from the resource that serves it (e.g. another function's serviceConfig.uri), or publish to its trigger topic instead of calling a URL; if it is external, make it stack config.",
  enforcementLevel: "advisory",
  validateStack: (args, report) => {
    const functions = ofType(args.resources, T.function);
    const produced = functions
      .flatMap((f) => [stringAt(f.props, "serviceConfig", "uri"), stringAt(f.props, "url")])
      .filter((u): u is string => typeof u === "string")
      .map((u) => u.replace(/\/+$/, ""));
    for (const fn of functions) {
      const env = at(fn.props, "serviceConfig", "environmentVariables");
      for (const key of keysOf(env)) {
        const value = at(env, key);
        if (typeof value !== "string") continue;
        for (const url of urlsIn(value)) {
          if (produced.some((p) => url === p || url.startsWith(`${p}/`))) continue;
          report(`${describe(fn)}: environment variable ${key} hard-codes the URL ${url}`, fn.urn);
        }
      }
    }
  },
};

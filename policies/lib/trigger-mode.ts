// Reading a stack's trigger mode (functions/core/trigger-routing.ts) off its functions: each declares
// TRIGGER_MODE in its environment. A stack is in shadow mode when any function says shadow.
import type { PolicyResource } from "@pulumi/policy";
import { RUNTIME_ENV_KEYS } from "../../functions/core/runtime-env.ts";
import { SHADOW_TOPIC_SUFFIX } from "../../functions/core/trigger-routing.ts";
import { stringAt } from "./props.ts";
import { ofType } from "./stack-graph.ts";
import { T } from "./types.ts";

export function functionTriggerMode(fn: PolicyResource): string | undefined {
  const mode = stringAt(fn.props, "serviceConfig", "environmentVariables", RUNTIME_ENV_KEYS.triggerMode);
  return typeof mode === "string" ? mode : undefined;
}

export function shadowFunctions(resources: readonly PolicyResource[]): PolicyResource[] {
  return ofType(resources, T.function).filter((fn) => functionTriggerMode(fn) === "shadow");
}

/** Topics named like a shadow topic ("<topic>-shadow"). */
export function shadowTopics(resources: readonly PolicyResource[]): PolicyResource[] {
  return ofType(resources, T.topic).filter((t) => {
    const name = stringAt(t.props, "name");
    return typeof name === "string" && name.endsWith(SHADOW_TOPIC_SUFFIX);
  });
}

/** The live trigger topics: those whose shadow counterpart the stack declares. */
export function liveTriggerTopicsOf(resources: readonly PolicyResource[]): PolicyResource[] {
  const shadowNames = new Set(shadowTopics(resources).map((t) => stringAt(t.props, "name") as string));
  return ofType(resources, T.topic).filter((t) => {
    const name = stringAt(t.props, "name");
    return typeof name === "string" && shadowNames.has(`${name}${SHADOW_TOPIC_SUFFIX}`);
  });
}

// Secrets belong in Secret Manager (secretEnvironmentVariables) or sensitive fields, never in plain
// environment variables or labels: those are readable by anyone with viewer access, show up in the
// console, in `pulumi preview` and in logs.
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { at, isUnknown, keysOf, elementsOf, stringAt } from "../lib/props.ts";
import { secretLooking } from "../lib/secret-values.ts";
import { T } from "../lib/types.ts";

/** Plain key/value maps of a resource that must not hold secrets, by where they are. */
export function plainSettings(type: string, props: unknown): { where: string; entries: [string, unknown][] }[] {
  const maps: { where: string; value: unknown }[] = [
    { where: "labels", value: at(props, "labels") },
    { where: "userLabels", value: at(props, "userLabels") },
  ];
  if (type === T.function) {
    maps.push({ where: "serviceConfig.environmentVariables", value: at(props, "serviceConfig", "environmentVariables") });
    maps.push({ where: "buildConfig.environmentVariables", value: at(props, "buildConfig", "environmentVariables") });
  }
  if (type === T.functionV1) {
    maps.push({ where: "environmentVariables", value: at(props, "environmentVariables") });
    maps.push({ where: "buildEnvironmentVariables", value: at(props, "buildEnvironmentVariables") });
  }
  const out = maps.map(({ where, value }) => ({ where, entries: keysOf(value).map((k): [string, unknown] => [k, at(value, k)]) }));
  if (type === T.runService) {
    for (const [i, container] of elementsOf(at(props, "template", "containers")).entries()) {
      const envs = elementsOf(at(container, "envs")).map((e): [string, unknown] => [String(stringAt(e, "name") ?? "?"), at(e, "value")]);
      out.push({ where: `template.containers[${i}].envs`, entries: envs });
    }
  }
  return out;
}

export const noPlainSecrets: ResourceValidationPolicy = {
  name: "no-plain-secrets",
  description: "No secret-looking value (a webhook URL, a token, a key, credentials in a URL) is in a plain environment variable or label.",
  remediationSteps: "Store the value in Secret Manager and mount it with serviceConfig.secretEnvironmentVariables (infra/components/slack-webhook-secret.ts); for notification channels use sensitiveLabels; make the stack config key a secret (pulumi config set --secret).",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    for (const { where, entries } of plainSettings(args.type, args.props)) {
      for (const [key, value] of entries) {
        if (isUnknown(value) || typeof value !== "string") continue;
        const why = secretLooking(key, value);
        if (why !== undefined) report(`${where}.${key} ${why}; secrets must not be plain settings`);
      }
    }
  },
};

// Reads the stack configuration out of the Pulumi runtime and validates it (stack-config.ts).
import * as pulumi from "@pulumi/pulumi";
import { ALL_CONFIG_KEYS, parseStackConfig, PROJECT_NAMESPACE } from "./stack-config.ts";
import type { StackConfig } from "./stack-config.ts";

export interface StackSecrets {
  slackAuthToken: pulumi.Output<string>;
  slackWebhookUrl: pulumi.Output<string>;
}

/** Validated config (throws naming every bad or missing key) plus the secrets as Pulumi secret outputs. */
export function readStackConfig(): { config: StackConfig; secrets: StackSecrets } {
  const bags = new Map<string, pulumi.Config>();
  const raw: Record<string, string | undefined> = {};
  for (const fullKey of ALL_CONFIG_KEYS) {
    const cut = fullKey.indexOf(":");
    const ns = fullKey.slice(0, cut);
    const key = fullKey.slice(cut + 1);
    let bag = bags.get(ns);
    if (bag === undefined) {
      bag = new pulumi.Config(ns);
      bags.set(ns, bag);
    }
    // Secret keys are read here only to check they are present; their values go on as secrets below.
    raw[fullKey] = bag.get(key);
  }
  const config = parseStackConfig(raw);
  const own = bags.get(PROJECT_NAMESPACE) ?? new pulumi.Config(PROJECT_NAMESPACE);
  return {
    config,
    secrets: { slackAuthToken: own.requireSecret("slackAuthToken"), slackWebhookUrl: own.requireSecret("slackWebhookUrl") },
  };
}

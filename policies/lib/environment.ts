// Whether a resource belongs to production. Stacks label every resource with `environment`
// (infra/naming.ts); the pack's config may also name the environment for a whole run
// (`pulumi preview --policy-pack policies --policy-pack-config <file>`, or `npm run plan --policy`,
// which passes the stack's `environment` config). Either one saying production is enough.
import type { PolicyConfigSchema } from "@pulumi/policy";
import { stringAt } from "./props.ts";

export const PRODUCTION_ENVIRONMENTS: readonly string[] = ["prod", "production"];

export interface EnvironmentConfig {
  /** The environment of the stack being checked (dev, staging, prod). */
  environment?: string;
}

/** The configSchema entry of every policy that treats production differently. */
export const ENVIRONMENT_CONFIG_SCHEMA: PolicyConfigSchema = {
  properties: {
    environment: { type: "string", description: "Environment of the stack (prod and production are production)." },
  },
};

export function isProduction(props: unknown, config: EnvironmentConfig): boolean {
  const label = stringAt(props, "labels", "environment");
  const userLabel = stringAt(props, "userLabels", "environment");
  return [config.environment, label, userLabel].some((e) => typeof e === "string" && PRODUCTION_ENVIRONMENTS.includes(e.toLowerCase()));
}

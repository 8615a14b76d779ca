// In production the completion history is the audit trail of every trigger: a replace or a
// `pulumi destroy` must not be able to drop it.
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { forTypes } from "../lib/define.ts";
import { ENVIRONMENT_CONFIG_SCHEMA, isProduction } from "../lib/environment.ts";
import type { EnvironmentConfig } from "../lib/environment.ts";
import { at } from "../lib/props.ts";
import { T } from "../lib/types.ts";

export const bigqueryTableDeletionProtection: ResourceValidationPolicy = {
  name: "bigquery-table-deletion-protection",
  description: "In production every BigQuery table has deletion protection on (the provider's default; it must not be switched off).",
  remediationSteps: "Leave deletionProtection unset or true on production tables (the deletionProtection stack config is true in prod).",
  enforcementLevel: "mandatory",
  configSchema: ENVIRONMENT_CONFIG_SCHEMA,
  validateResource: forTypes([T.table], (props, args, report) => {
    if (!isProduction(props, args.getConfig<EnvironmentConfig>())) return;
    const protection = at(props, "deletionProtection");
    if (protection === false || protection === "false") report("production table has deletionProtection: false: a replace or destroy would delete its data");
  }),
};

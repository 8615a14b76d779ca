// Creates the orchestration dataset and its tables from functions/core/tables.ts through the real
// client, the way Pulumi declares them in the cloud. For the local stack and tests (against the fake).
import type { BigQuery } from "@google-cloud/bigquery";
import { ORCHESTRATION_TABLES, type TableDefinition, toBigQuerySchemaJson } from "../../functions/core/tables.ts";

/** The tables.insert body for one table definition (schema from the same JSON infra uses). */
export function tableCreateOptions(table: TableDefinition): Record<string, unknown> {
  const { type, field, expirationMs } = table.timePartitioning;
  return {
    description: table.description,
    schema: { fields: JSON.parse(toBigQuerySchemaJson(table)) as unknown[] },
    timePartitioning: { type, field, ...(expirationMs !== undefined ? { expirationMs: String(expirationMs) } : {}) },
    clustering: { fields: [...table.clustering] },
  };
}

/** Creates the dataset (if missing) and every table of tables.ts (if missing). */
export async function provisionOrchestrationTables(
  bigquery: BigQuery,
  datasetId: string,
  tables: readonly TableDefinition[] = ORCHESTRATION_TABLES,
): Promise<void> {
  const dataset = bigquery.dataset(datasetId);
  const [datasetExists] = await dataset.exists();
  if (!datasetExists) await dataset.create();
  for (const table of tables) {
    const [exists] = await dataset.table(table.name).exists();
    if (!exists) await dataset.createTable(table.name, tableCreateOptions(table));
  }
}

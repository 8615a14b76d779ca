// Runs the BigQuery fake for manual use:  node --import tsx tools/bigquery-fake/cli.ts --port 9050 [--project demo-test] [--dataset nba_orchestration]
// With --dataset, the dataset and the tables of functions/core/tables.ts are created at start.
import { parseArgs } from "node:util";
import { createBigQueryClient } from "../../functions/lib/bigquery-store.ts";
import { provisionOrchestrationTables } from "./provision.ts";
import { startBigQueryFake } from "./server.ts";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    project: { type: "string", default: "demo-test" },
    dataset: { type: "string" },
  },
});

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`--port must be an integer 0..65535, got ${values.port}`);
  process.exit(2);
}

const fake = await startBigQueryFake({ port, projectId: values.project });
if (values.dataset) {
  await provisionOrchestrationTables(createBigQueryClient({ projectId: values.project, apiEndpoint: fake.url }), values.dataset);
}
console.log(JSON.stringify({ url: fake.url, port: fake.port, projectId: fake.projectId, dataset: values.dataset ?? null }));

const shutdown = () => {
  fake.stop().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
};
process.on("SIGINT", shutdown);
process.on("SIGTERM", shutdown);

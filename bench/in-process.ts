// Serves an orchestrator in this process, built exactly as in production (createOrchestratorFromEnv)
// and behind the real functions framework's HTTP server, so the instrumentation in this process sees
// its clients. Log lines are formatted (as in production) and dropped; ERROR and above are kept.
import type { AddressInfo } from "node:net";
import * as functions from "@google-cloud/functions-framework";
import { getTestServer } from "@google-cloud/functions-framework/testing";
import { createOrchestratorFromEnv } from "../functions/lib/orchestrator-runtime.ts";
import { createLogger } from "../functions/lib/logger.ts";
import { serializePipeline } from "../functions/core/pipeline.ts";
import { DEFAULT_PIPELINE } from "../functions/core/pipeline-defaults.ts";
import type { PipelineConfig } from "../functions/core/pipeline-types.ts";
import { orchestratorEnv } from "../tools/local-functions/orchestrator-env.ts";
import type { BenchEnvironment } from "./environment.ts";

export interface ServedOrchestrator {
  url: string;
  /** Server-side time of each request, ms (handler start to its promise settling). */
  handlerMs: number[];
  /** Log lines at ERROR or above while serving requests (not the start-up notices), parsed. */
  errors: Record<string, unknown>[];
  close(): Promise<void>;
}

let served = 0;

/** The environment infra sets on an orchestrator, pointed at the bench's emulators and fake. */
export function benchOrchestratorEnv(env: BenchEnvironment, transitionId: string, firestorePrefix: string, pipeline: PipelineConfig = DEFAULT_PIPELINE): Record<string, string> {
  return {
    ...orchestratorEnv({
      transitionId,
      projectId: env.projectId,
      firestoreHost: env.firestoreHost,
      pubsubHost: env.pubsubHost,
      bigqueryUrl: env.bq.url,
      firestorePrefix,
    }),
    PIPELINE_CONFIG: serializePipeline(pipeline),
  };
}

export async function serveOrchestrator(
  env: BenchEnvironment,
  transitionId: string,
  firestorePrefix: string,
  pipeline: PipelineConfig = DEFAULT_PIPELINE,
): Promise<ServedOrchestrator> {
  const errors: Record<string, unknown>[] = [];
  // Start-up notices (e.g. "SLACK_WEBHOOK_URL is not set", said once per instance at ERROR) are not
  // errors of the work measured; a misconfigured function still logs CRITICAL on every request.
  let starting = true;
  const logger = createLogger(
    { function: `${transitionId}-orchestrator` },
    {
      write: (line: string) => {
        if (!starting && /"severity":"(ERROR|CRITICAL|ALERT|EMERGENCY)"/.test(line)) errors.push(JSON.parse(line) as Record<string, unknown>);
        return true;
      },
    },
    "info",
  );
  const handler = createOrchestratorFromEnv(transitionId, benchOrchestratorEnv(env, transitionId, firestorePrefix, pipeline), logger);
  starting = false;
  const handlerMs: number[] = [];
  const name = `bench_${transitionId.replace(/-/g, "_")}_${++served}`;
  functions.http(name, async (req, res) => {
    const started = performance.now();
    try {
      await handler(req, res);
    } finally {
      handlerMs.push(performance.now() - started);
    }
  });
  const server = getTestServer(name);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    handlerMs,
    errors,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}

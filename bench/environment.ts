// What every measured section runs against: the Firestore and Pub/Sub emulators (started here, each in
// its own process group, stopped at the end and on Ctrl-C) and the BigQuery fake (in this process).
// Child processes the bench spawns (cold starts) are tracked so an interrupted run leaves none behind.
import type { ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { startFirestoreEmulator, startPubsubEmulator, type EmulatorHandle } from "../tools/emulators/emulators.ts";
import { createBigQueryClient } from "../functions/lib/bigquery-store.ts";
import { provisionOrchestrationTables, startBigQueryFake, type BigQueryFake } from "../tools/bigquery-fake/index.ts";
import { PubSub } from "@google-cloud/pubsub";
import { loadPipeline } from "../functions/core/pipeline.ts";

export const BENCH_PROJECT_ID = "demo-bench";
export const BENCH_DATASET = "nba_orchestration";

export interface BenchEnvironment {
  projectId: string;
  datasetId: string;
  firestoreHost: string;
  pubsubHost: string;
  bq: BigQueryFake;
  stop(): Promise<void>;
}

const children = new Set<ChildProcess>();

/** Remember a child process so that an interrupted run kills it (exit and signal handlers below). */
export function trackChild(child: ChildProcess): void {
  children.add(child);
  child.once("exit", () => children.delete(child));
}

const tempDirs = new Set<string>();

/** Remember a temporary folder so that an interrupted run removes it too. */
export function trackTempDir(dir: string): void {
  tempDirs.add(dir);
}

function killChildrenSync(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
  children.clear();
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  tempDirs.clear();
}

process.on("exit", killChildrenSync);
// tools/emulators/emulators.ts (imported above, so registered first) kills the emulator process groups on
// these signals and leaves termination to us when another listener exists: kill the children, then exit.
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    killChildrenSync();
    process.stderr.write(`bench: interrupted by ${signal}; emulators and child processes stopped\n`);
    process.exit(signal === "SIGINT" ? 130 : 143);
  });
}

/**
 * Starts both emulators and the BigQuery fake (dataset and tables provisioned), and points this
 * process's Google clients at them (the clients read the *_EMULATOR_HOST variables in their constructors).
 */
export async function startBenchEnvironment(): Promise<BenchEnvironment> {
  const started = await Promise.allSettled([startFirestoreEmulator(), startPubsubEmulator({ projectId: BENCH_PROJECT_ID })]);
  const handles = started.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const failures = started.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
  if (failures.length > 0) {
    await Promise.all(handles.map((h) => h.stop()));
    throw new AggregateError(failures, `bench: emulator startup failed: ${failures.map(String).join("; ")}`);
  }
  const [firestore, pubsub] = handles as [EmulatorHandle, EmulatorHandle];
  const bq = await startBigQueryFake({ projectId: BENCH_PROJECT_ID });
  await provisionOrchestrationTables(createBigQueryClient({ projectId: BENCH_PROJECT_ID, apiEndpoint: bq.url }), BENCH_DATASET);
  process.env.FIRESTORE_EMULATOR_HOST = firestore.host;
  process.env.PUBSUB_EMULATOR_HOST = pubsub.host;
  process.env.GCLOUD_PROJECT = BENCH_PROJECT_ID;
  process.env.GOOGLE_CLOUD_PROJECT = BENCH_PROJECT_ID;
  // Without it google-auth-library probes the GCE metadata server (seconds of timeouts).
  process.env.METADATA_SERVER_DETECTION ??= "none";
  // The topics infra declares: a trigger published to a missing topic would fail (and be retried).
  const pubsubClient = new PubSub({ projectId: BENCH_PROJECT_ID });
  for (const t of loadPipeline().transitions) {
    for (const name of [t.inputTopicName, t.outputTopicName]) await pubsubClient.topic(name).get({ autoCreate: true });
  }
  await pubsubClient.close();
  return {
    projectId: BENCH_PROJECT_ID,
    datasetId: BENCH_DATASET,
    firestoreHost: firestore.host,
    pubsubHost: pubsub.host,
    bq,
    async stop() {
      killChildrenSync();
      const results = await Promise.allSettled([firestore.stop(), pubsub.stop(), bq.stop()]);
      const errors = results.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
      if (errors.length > 0) throw new AggregateError(errors, `bench: stopping the environment failed: ${errors.map(String).join("; ")}`);
    },
  };
}

// The programmatic API of the local stack: evaluate the Pulumi program for a stack, start the local
// parts (Firestore and Pub/Sub emulators, BigQuery fake, Slack sink), provision what the program
// declares onto them, and serve every declared function from its archive. Every process and server
// started here is registered for close(), which also runs when start-up fails half-way.
import type { Firestore } from "@google-cloud/firestore";
import type { PubSub } from "@google-cloud/pubsub";
import type { BigQuery } from "@google-cloud/bigquery";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { pipelineFromEnv } from "../../functions/core/pipeline.ts";
import type { Pipeline } from "../../functions/core/pipeline-types.ts";
import { isStrictEnvironment, RUNTIME_ENV_KEYS } from "../../functions/core/runtime-env.ts";
import { DEFAULT_TRIGGER_MODE, isTriggerMode, type TriggerMode } from "../../functions/core/trigger-routing.ts";
import { collectionNames } from "../../functions/lib/collections.ts";
import { createBigQueryClient } from "../../functions/lib/bigquery-store.ts";
import { BIGQUERY_API_ENDPOINT } from "../../functions/lib/orchestrator-runtime.ts";
import { startBigQueryFake, type BigQueryFake } from "../bigquery-fake/index.ts";
import { evaluateStack } from "../plan/evaluate.ts";
import { readStackFiles } from "../plan/stack-files.ts";
import { configDirWithOverrides } from "./config-overrides.ts";
import { localPlanOf, type LocalFunction, type LocalPlan } from "./declared.ts";
import {
  findEmulatorToolProblems,
  findFreePort,
  firestoreAt,
  pubsubAt,
  startFirestoreEmulator,
  startPubsubEmulator,
  startTcpProxy,
  type EmulatorHandle,
  type TcpProxy,
} from "./emulators.ts";
import { startFrontProxy, type FrontProxy } from "./front-proxy.ts";
import { getHealth, instanceGroup, serveFunction, unpackArchive, type ServedFunction } from "./function-host.ts";
import { provisionBigQuery, provisionPubSub } from "./provision.ts";
import { alertLine, startSlackSink, type SlackSink } from "./slack-sink.ts";

const PROJECT_ROOT = path.resolve(import.meta.dirname, "..", "..");

export class PrerequisiteError extends Error {
  constructor(readonly problems: string[]) {
    super(`npm start needs the Google Cloud emulators, and this machine lacks:\n  - ${problems.join("\n  - ")}`);
    this.name = "PrerequisiteError";
  }
}

/** A function answered /health with something other than 200 at start-up: the run fails naming why. */
export class MisconfiguredFunctionError extends Error {
  constructor(readonly problems: string[]) {
    super(`declared functions are not healthy on the local stack:\n  - ${problems.join("\n  - ")}`);
    this.name = "MisconfiguredFunctionError";
  }
}

export interface LocalStackOptions {
  stack: string;
  /** Progress lines (stderr in the CLI). */
  log: (line: string) => void;
  rootDir?: string;
  /** Instances of every function behind its front proxy (default 1). */
  instances?: number;
  /** Stack config keys set for this run only, as `pulumi config set` would (e.g. triggerMode: shadow). */
  config?: Readonly<Record<string, string>>;
}

export interface LocalStack {
  readonly plan: LocalPlan;
  readonly pipeline: Pipeline;
  readonly project: string;
  /** Where the functions publish triggers (their declared TRIGGER_MODE). */
  readonly triggerMode: TriggerMode;
  /** The declared FIRESTORE_COLLECTION_PREFIX. */
  readonly firestorePrefix: string;
  /** Collections the functions write (with the declared prefix). */
  readonly collections: ReturnType<typeof collectionNames>;
  /** Declared BigQuery dataset of the functions (BQ_DATASET). */
  readonly datasetId: string;
  readonly firestore: EmulatorHandle;
  readonly pubsub: EmulatorHandle;
  readonly bigquery: BigQueryFake;
  readonly slack: SlackSink;
  /** The functions' path to Firestore (fault injection). */
  readonly firestoreProxy: TcpProxy;
  /** Each function's own path to Pub/Sub, by deployed name. */
  readonly pubsubProxies: ReadonlyMap<string, TcpProxy>;
  /** Served functions by deployed name; with several instances, all of them as one (kill/restart act on every instance). */
  readonly functions: ReadonlyMap<string, ServedFunction>;
  /** Every instance of each function (each listening on an internal port), by deployed name. */
  readonly instances: ReadonlyMap<string, readonly ServedFunction[]>;
  /** Instances per function. */
  readonly instanceCount: number;
  /**
   * The URL of each function as callers see it (push endpoints, scheduler, health): a front proxy to
   * the function's internal port, as Cloud Run's front end is, so a restarting instance makes callers
   * wait (stall) instead of being refused.
   */
  readonly urls: ReadonlyMap<string, string>;
  readonly frontProxies: ReadonlyMap<string, FrontProxy>;
  /** Deployed function name of each transition's orchestrator (from its TRANSITION_ID). */
  readonly orchestrators: ReadonlyMap<string, string>;
  /** Direct clients (not through the fault proxies): the simulated processors and the report use them. */
  readonly db: Firestore;
  readonly ps: PubSub;
  readonly bq: BigQuery;
  /** Things the local stack does differently from the cloud, for the report. */
  readonly localNotes: string[];
  close(): Promise<void>;
}

/**
 * The DEPLOY_ENV a function of a staging or prod stack runs with locally. The runtime refuses emulator
 * hosts and local knobs when DEPLOY_ENV is staging or prod (functions/core/runtime-env.ts), which is
 * right in the cloud and is kept: locally the function is told the truth, that it runs locally.
 */
export const LOCAL_DEPLOY_ENV = "local";

/**
 * The environment a function gets locally: exactly what is declared, secrets and emulator hosts added,
 * and DEPLOY_ENV staging/prod replaced by LOCAL_DEPLOY_ENV (named in the notes).
 */
export function localFunctionEnv(
  fn: LocalFunction,
  local: { slackUrl: string; firestoreHost: string; pubsubHost: string; bigqueryUrl: string; project: string; port: number },
): { env: Record<string, string>; notes: string[] } {
  const notes: string[] = [];
  const secrets: Record<string, string> = {};
  const declaredEnvironment = fn.environment[RUNTIME_ENV_KEYS.environment];
  const environment = isStrictEnvironment(declaredEnvironment) ? LOCAL_DEPLOY_ENV : declaredEnvironment;
  if (environment !== declaredEnvironment) {
    notes.push(
      `the functions' declared ${RUNTIME_ENV_KEYS.environment}=${String(declaredEnvironment)} runs as ${LOCAL_DEPLOY_ENV} locally ` +
        `(in ${String(declaredEnvironment)} the runtime refuses the emulator hosts this run needs)`,
    );
  }
  for (const [key, secret] of Object.entries(fn.secretEnvironment)) {
    if (key === RUNTIME_ENV_KEYS.slackWebhookUrl) {
      secrets[key] = local.slackUrl;
    } else {
      secrets[key] = `local-placeholder-for-secret-${secret}`;
      notes.push(`${fn.name}: secret ${secret} (${key}) has no local value; a placeholder is set`);
    }
  }
  return {
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: process.env.HOME ?? "/tmp",
      ...fn.environment,
      ...(environment === undefined ? {} : { [RUNTIME_ENV_KEYS.environment]: environment }),
      ...secrets,
      // What Cloud Run sets on every instance.
      PORT: String(local.port),
      K_SERVICE: fn.name,
      FUNCTION_TARGET: fn.entryPoint,
      FUNCTION_SIGNATURE_TYPE: "http",
      // Local only: the emulators, the BigQuery fake, and no metadata-server probing for credentials.
      FIRESTORE_EMULATOR_HOST: local.firestoreHost,
      PUBSUB_EMULATOR_HOST: local.pubsubHost,
      [BIGQUERY_API_ENDPOINT]: local.bigqueryUrl,
      GOOGLE_CLOUD_PROJECT: local.project,
      METADATA_SERVER_DETECTION: "none",
    },
    notes,
  };
}

/** How long a function may stay degraded at start-up (its health result is cached 30 s, so two real checks). */
export const HEALTH_DEADLINE_MS = 75_000;

/**
 * Waits for GET /health to answer 200. "misconfigured" (the runtime rejected its environment, e.g. a
 * variable the program does not set) fails at once; a dependency that stays unhealthy fails at the
 * deadline. A first check may time out on a cold, busy machine, hence the patience.
 */
export async function awaitHealthy(name: string, url: string, log: (line: string) => void): Promise<string | undefined> {
  const deadline = Date.now() + HEALTH_DEADLINE_MS;
  let reported = false;
  for (;;) {
    const h = await getHealth(url);
    if (h.status === 200) return undefined;
    if (h.body.status === "misconfigured") return `${name} is misconfigured: ${String(h.body.error)}`;
    const deps = Object.entries((h.body.dependencies ?? {}) as Record<string, { healthy?: boolean; error?: string }>)
      .filter(([, d]) => d.healthy !== true)
      .map(([dep, d]) => `${dep} (${d.error ?? "unhealthy"})`);
    const why = `${name} /health answered ${h.status}${deps.length > 0 ? `: ${deps.join(", ")}` : `: ${JSON.stringify(h.body).slice(0, 300)}`}`;
    if (Date.now() > deadline) return why;
    if (!reported) log(`  waiting for ${why}; re-checking (health results are cached for 30 s)`);
    reported = true;
    await new Promise((r) => setTimeout(r, 2000));
  }
}

const SEVERITY_RANK = ["DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL", "ALERT", "EMERGENCY"];

export async function startLocalStack(o: LocalStackOptions): Promise<LocalStack> {
  const rootDir = o.rootDir ?? PROJECT_ROOT;
  const missing = findEmulatorToolProblems(process.env);
  if (missing.length > 0) throw new PrerequisiteError(missing);

  // Unknown stack or unreadable config: fail before anything is started.
  const stackConfig = readStackFiles(rootDir, o.stack).config;
  const project = stackConfig["gcp:project"] ?? "local-project";
  const region = stackConfig["gcp:region"] ?? "us-central1";

  const closers: (() => Promise<unknown>)[] = [];
  const close = async (): Promise<void> => {
    const errors: unknown[] = [];
    for (const c of closers.splice(0).reverse()) {
      try {
        await c();
      } catch (error) {
        errors.push(error);
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, `local stack cleanup: ${errors.map(String).join("; ")}`);
  };

  try {
    const workDir = await mkdtemp(path.join(tmpdir(), "local-stack-"));
    closers.push(() => rm(workDir, { recursive: true, force: true }));

    const overrides = Object.entries(o.config ?? {});
    const configDir = overrides.length === 0 ? rootDir : await configDirWithOverrides(rootDir, o.stack, o.config!, workDir);
    o.log(
      `evaluating the Pulumi program for stack ${o.stack}${overrides.length === 0 ? "" : ` (with ${overrides.map(([k, v]) => `${k}: ${v}`).join(", ")})`} and starting the emulators ...`,
    );
    const evaluation = evaluateStack(o.stack, { configDir });
    // The emulators start while the program evaluates; whichever fails, what started is closed.
    const started = await Promise.allSettled([
      evaluation,
      startFirestoreEmulator(),
      startPubsubEmulator({ projectId: project }),
      startBigQueryFake({ projectId: project }),
    ]);
    const [planR, fsR, psR] = started;
    if (fsR?.status === "fulfilled") closers.push(() => fsR.value.stop());
    if (psR?.status === "fulfilled") closers.push(() => psR.value.stop());
    if (started[3]?.status === "fulfilled") {
      const fake = started[3].value;
      closers.push(() => fake.stop());
    }
    const failed = started.find((s) => s.status === "rejected");
    if (failed !== undefined) throw failed.reason;
    const planResult = (planR as PromiseFulfilledResult<Awaited<typeof evaluation>>).value;
    const firestore = (fsR as PromiseFulfilledResult<EmulatorHandle>).value;
    const pubsub = (psR as PromiseFulfilledResult<EmulatorHandle>).value;
    const bigqueryFake = (started[3] as PromiseFulfilledResult<BigQueryFake>).value;

    const plan = localPlanOf(o.stack, project, region, planResult.resources);
    const orchestrators = new Map<string, string>();
    for (const f of plan.functions) {
      const t = f.environment[RUNTIME_ENV_KEYS.transitionId];
      if (t !== undefined) orchestrators.set(t, f.name);
    }
    const withPipeline = plan.functions.find((f) => f.environment[RUNTIME_ENV_KEYS.pipelineConfig] !== undefined);
    if (withPipeline === undefined) throw new MisconfiguredFunctionError([`no declared function has ${RUNTIME_ENV_KEYS.pipelineConfig}: nothing to run a game day with`]);
    const pipeline = pipelineFromEnv(withPipeline.environment[RUNTIME_ENV_KEYS.pipelineConfig]!);
    const prefix = withPipeline.environment[RUNTIME_ENV_KEYS.firestorePrefix] ?? "";
    const declaredMode = withPipeline.environment[RUNTIME_ENV_KEYS.triggerMode];
    const triggerMode = isTriggerMode(declaredMode) ? declaredMode : DEFAULT_TRIGGER_MODE;
    const datasetId = withPipeline.environment[RUNTIME_ENV_KEYS.bigqueryDataset] ?? plan.datasets[0]?.datasetId ?? "";
    o.log(
      `stack ${o.stack} (project ${project}): ${plan.topics.length} topics, ${plan.subscriptions.length} subscriptions, ` +
        `${plan.functions.length} functions, ${plan.tables.length} tables, ${plan.schedules.length} scheduler jobs`,
    );

    const slack = await startSlackSink((a) => o.log(`  [slack] ${alertLine(a)}`));
    closers.push(() => slack.close());
    const firestoreProxy = await startTcpProxy(firestore.host);
    closers.push(() => firestoreProxy.close());
    const pubsubProxies = new Map<string, TcpProxy>();
    const ports = new Map<string, number[]>();
    const frontProxies = new Map<string, FrontProxy>();
    const instanceCount = o.instances ?? 1;
    for (const f of plan.functions) {
      const proxy = await startTcpProxy(pubsub.host);
      closers.push(() => proxy.close());
      pubsubProxies.set(f.name, proxy);
      const instancePorts: number[] = [];
      for (let i = 0; i < instanceCount; i++) instancePorts.push(await findFreePort());
      ports.set(f.name, instancePorts);
      const front = await startFrontProxy({ instancePorts, concurrency: f.concurrency });
      closers.push(() => front.close());
      frontProxies.set(f.name, front);
    }

    const ps = pubsubAt(pubsub.host, project);
    closers.push(() => ps.close());
    const db = firestoreAt(firestore.host, project, { ignoreUndefinedProperties: true });
    closers.push(() => db.terminate());
    const bq = createBigQueryClient({ projectId: project, apiEndpoint: bigqueryFake.url });

    const urls = new Map([...frontProxies].map(([name, front]) => [name, `http://${front.host}`]));
    await provisionPubSub(ps, plan, (fn) => `${urls.get(fn)!}/`);
    await provisionBigQuery(bq, plan);
    o.log(
      `provisioned topics and subscriptions on the Pub/Sub emulator (${pubsub.host}) and the dataset in the BigQuery fake ` +
        `(${bigqueryFake.url}); Firestore emulator at ${firestore.host}`,
    );

    const localNotes = ["pushes carry no OIDC token locally and nothing verifies one (the emulator does not mint tokens)"];
    const served = await Promise.all(
      plan.functions.map(async (f) => {
        const unpacked = await unpackArchive(rootDir, f.archive, f.name, workDir);
        if (f.codeHash !== undefined && f.codeHash !== unpacked.sha256) {
          throw new MisconfiguredFunctionError([`${f.name}: CODE_HASH ${f.codeHash} is not the sha256 of the archive it uploads (${unpacked.sha256})`]);
        }
        const instances = await Promise.all(
          ports.get(f.name)!.map(async (port, i) => {
            const { env, notes } = localFunctionEnv(f, {
              slackUrl: slack.url,
              firestoreHost: firestoreProxy.host,
              pubsubHost: pubsubProxies.get(f.name)!.host,
              bigqueryUrl: bigqueryFake.url,
              project,
              port,
            });
            if (i === 0) for (const n of notes) if (!localNotes.includes(n)) localNotes.push(n);
            const tag = instanceCount > 1 ? `${f.name}#${i}` : f.name;
            const fn = await serveFunction({
              name: f.name,
              unpacked,
              target: f.entryPoint,
              port,
              env,
              onLog: (line) => {
                if (SEVERITY_RANK.indexOf(String(line.severity)) >= SEVERITY_RANK.indexOf("ERROR")) {
                  o.log(`  [${tag}] ${String(line.severity)} ${String(line.message ?? line.raw ?? "").split("\n")[0]!.slice(0, 240)}`);
                }
              },
            });
            closers.push(() => fn.stop());
            return fn;
          }),
        );
        return [f.name, instances] as const;
      }),
    );
    const instances = new Map<string, readonly ServedFunction[]>(served);
    const functions = new Map(served.map(([name, group]) => [name, instanceGroup(group)]));

    const problems: string[] = [];
    await Promise.all(
      plan.functions.map(async (f) => {
        const problem = await awaitHealthy(f.name, urls.get(f.name)!, o.log);
        if (problem !== undefined) problems.push(problem);
      }),
    );
    if (problems.length > 0) throw new MisconfiguredFunctionError(problems);
    o.log(`serving ${functions.size} functions from their archives${instanceCount > 1 ? ` (${instanceCount} instances each, behind their front proxies)` : ""}: ${[...urls].map(([name, url]) => `${name} ${url}`).join(", ")}`);

    return {
      plan,
      pipeline,
      project,
      triggerMode,
      firestorePrefix: prefix,
      collections: collectionNames(prefix),
      datasetId,
      firestore,
      pubsub,
      bigquery: bigqueryFake,
      slack,
      firestoreProxy,
      pubsubProxies,
      functions,
      instances,
      instanceCount,
      urls,
      frontProxies,
      orchestrators,
      db,
      ps,
      bq,
      localNotes,
      close,
    };
  } catch (error) {
    await close().catch((cleanupError: unknown) => o.log(`cleanup after a failed start also failed: ${String(cleanupError)}`));
    throw error;
  }
}

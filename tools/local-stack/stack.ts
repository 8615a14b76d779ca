// The programmatic API of the local stack: evaluate the Pulumi program for a stack, start the local
// parts (Firestore and Pub/Sub emulators, BigQuery fake, Slack sink), provision what the program
// declares onto them, and serve every declared function from its archive. Every process and server
// started is registered for close(), which also runs when start-up fails half-way. The steps live in
// start-parts.ts, provision.ts and serve-functions.ts; this module puts them in order.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { collectionNames } from "../../functions/lib/collections.ts";
import { createBigQueryClient } from "../../functions/lib/bigquery-store.ts";
import { readStackFiles } from "../plan/stack-files.ts";
import { createClosers } from "./closers.ts";
import { configDirWithOverrides } from "./config-overrides.ts";
import { localPlanOf } from "./declared.ts";
import { findEmulatorToolProblems, firestoreAt, pubsubAt } from "./emulators.ts";
import { settingsOfPlan } from "./plan-settings.ts";
import { provisionBigQuery, provisionPubSub } from "./provision.ts";
import { serveDeclaredFunctions } from "./serve-functions.ts";
import { evaluateAndStartBackends, startProxies } from "./start-parts.ts";
import { PrerequisiteError, type LocalStack, type LocalStackOptions } from "./stack-types.ts";

export { awaitHealthy, HEALTH_DEADLINE_MS } from "./await-healthy.ts";
export { LOCAL_DEPLOY_ENV, localFunctionEnv } from "./function-env.ts";
export { MisconfiguredFunctionError, PrerequisiteError, type LocalStack, type LocalStackOptions } from "./stack-types.ts";

const PROJECT_ROOT = path.resolve(import.meta.dirname, "..", "..");

export async function startLocalStack(o: LocalStackOptions): Promise<LocalStack> {
  const rootDir = o.rootDir ?? PROJECT_ROOT;
  const missing = findEmulatorToolProblems(process.env);
  if (missing.length > 0) throw new PrerequisiteError(missing);

  // Unknown stack or unreadable config: fail before anything is started.
  const stackConfig = readStackFiles(rootDir, o.stack).config;
  const project = stackConfig["gcp:project"] ?? "local-project";
  const region = stackConfig["gcp:region"] ?? "us-central1";

  const closers = createClosers();
  const close = () => closers.close();

  try {
    const workDir = await mkdtemp(path.join(tmpdir(), "local-stack-"));
    closers.push(() => rm(workDir, { recursive: true, force: true }));

    const overrides = Object.entries(o.config ?? {});
    const configDir = overrides.length === 0 ? rootDir : await configDirWithOverrides(rootDir, o.stack, o.config!, workDir);
    o.log(
      `evaluating the Pulumi program for stack ${o.stack}${overrides.length === 0 ? "" : ` (with ${overrides.map(([k, v]) => `${k}: ${v}`).join(", ")})`} and starting the emulators ...`,
    );
    const { resources, firestore, pubsub, bigqueryFake } = await evaluateAndStartBackends(o.stack, configDir, project, closers);

    const plan = localPlanOf(o.stack, project, region, resources);
    const settings = settingsOfPlan(plan);
    o.log(
      `stack ${o.stack} (project ${project}): ${plan.topics.length} topics, ${plan.subscriptions.length} subscriptions, ` +
        `${plan.functions.length} functions, ${plan.tables.length} tables, ${plan.schedules.length} scheduler jobs`,
    );

    const instanceCount = o.instances ?? 1;
    const proxies = await startProxies(plan, { firestore, pubsub }, instanceCount, closers, o.log);

    const ps = pubsubAt(pubsub.host, project);
    closers.push(() => ps.close());
    const db = firestoreAt(firestore.host, project, { ignoreUndefinedProperties: true });
    closers.push(() => db.terminate());
    const bq = createBigQueryClient({ projectId: project, apiEndpoint: bigqueryFake.url });

    const urls = new Map([...proxies.frontProxies].map(([name, front]) => [name, `http://${front.host}`]));
    await provisionPubSub(ps, plan, (fn) => `${urls.get(fn)!}/`);
    await provisionBigQuery(bq, plan);
    o.log(
      `provisioned topics and subscriptions on the Pub/Sub emulator (${pubsub.host}) and the dataset in the BigQuery fake ` +
        `(${bigqueryFake.url}); Firestore emulator at ${firestore.host}`,
    );

    const localNotes = ["pushes carry no OIDC token locally and nothing verifies one (the emulator does not mint tokens)"];
    const { functions, instances } = await serveDeclaredFunctions(plan, {
      rootDir,
      workDir,
      project,
      bigqueryUrl: bigqueryFake.url,
      instanceCount,
      proxies,
      urls,
      localNotes,
      closers,
      log: o.log,
    });
    o.log(`serving ${functions.size} functions from their archives${instanceCount > 1 ? ` (${instanceCount} instances each, behind their front proxies)` : ""}: ${[...urls].map(([name, url]) => `${name} ${url}`).join(", ")}`);

    return {
      plan,
      pipeline: settings.pipeline,
      project,
      triggerMode: settings.triggerMode,
      firestorePrefix: settings.firestorePrefix,
      collections: collectionNames(settings.firestorePrefix),
      datasetId: settings.datasetId,
      firestore,
      pubsub,
      bigquery: bigqueryFake,
      slack: proxies.slack,
      firestoreProxy: proxies.firestoreProxy,
      pubsubProxies: proxies.pubsubProxies,
      functions,
      instances,
      instanceCount,
      urls,
      frontProxies: proxies.frontProxies,
      orchestrators: settings.orchestrators,
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

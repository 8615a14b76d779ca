// The stack entry. Pulumi runs this module (package.json "main", ESM through `node --import tsx`,
// see Pulumi.yaml) and calls its default export, whose result becomes the stack outputs. It reads
// the stack config, loads the pipeline model, bundles every function, and composes the components.
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as gcp from "@pulumi/gcp";
import type * as pulumi from "@pulumi/pulumi";
import { loadPipeline } from "./functions/core/pipeline.ts";
import { liveTriggerTopics, routeTriggers, SHADOW_TOPIC_SUFFIX, shadowTopicName } from "./functions/core/trigger-routing.ts";
import { buildFunctionArchive } from "./infra/bundle/function-archive.ts";
import { writeArchive } from "./infra/bundle/manifest.ts";
import { Alerting } from "./infra/components/alerting.ts";
import type { WatchedSubscription } from "./infra/components/alerting.ts";
import { CompletionDataset } from "./infra/components/completion-dataset.ts";
import { FirestoreDatabase } from "./infra/components/firestore-database.ts";
import { FunctionBuild } from "./infra/components/function-build.ts";
import { FunctionSources } from "./infra/components/function-sources.ts";
import { PipelineFunction } from "./infra/components/pipeline-function.ts";
import { ProjectServices } from "./infra/components/project-services.ts";
import { PipelineTopics } from "./infra/components/topics.ts";
import { PushSubscription } from "./infra/components/push-subscription.ts";
import { ScheduledInvocation } from "./infra/components/scheduled-invocation.ts";
import { ServiceAgents } from "./infra/components/service-agents.ts";
import { ShadowTaps } from "./infra/components/shadow-taps.ts";
import { SlackWebhookSecret } from "./infra/components/slack-webhook-secret.ts";
import { functionEnvironment } from "./infra/function-env.ts";
import { FirestoreTtl } from "./infra/components/firestore-ttl.ts";
import { expiringCollections } from "./functions/core/firestore-collections.ts";
import { functionRegistry, SCHEDULED_FUNCTIONS } from "./infra/function-registry.ts";
import type { ScheduledFunctionDef } from "./infra/function-registry.ts";
import { Naming, pushSubscriptionName } from "./infra/naming.ts";
import { readStackConfig } from "./infra/pulumi-config.ts";

export interface ProgramOptions {
  /** Project root holding the function sources and package-lock.json (tests pass a temp copy). */
  rootDir?: string;
  /** Scheduled functions to deploy (default: the registry's). */
  scheduled?: readonly ScheduledFunctionDef[];
}

const HERE = path.dirname(fileURLToPath(import.meta.url));

export default async function orchestrationStack(options: ProgramOptions = {}): Promise<Record<string, unknown>> {
  const rootDir = options.rootDir ?? HERE;
  const { config, secrets } = readStackConfig();
  const pipeline = loadPipeline(config.pipelineOverrides);
  const shadow = config.triggerMode === "shadow";
  const naming = new Naming({ project: config.project, environment: config.environment, functionNameSuffix: shadow ? SHADOW_TOPIC_SUFFIX : "" });
  // Routed: in shadow mode each function publishes to (and is granted publisher on) shadow topics only.
  const specs = functionRegistry(routeTriggers(pipeline, config.triggerMode), options.scheduled ?? SCHEDULED_FUNCTIONS);

  // Bundle while evaluating: the hashes below are those of the code on disk now, never stale.
  const archives = await Promise.all(specs.map((s) => buildFunctionArchive({ rootDir, name: s.name, entry: s.entry })));
  const archiveFiles = await Promise.all(archives.map((a) => writeArchive(rootDir, a)));

  // Every API the stack uses, enabled first; every component below gets the transformation that
  // makes each of its resources depend on the Services of the APIs it needs.
  const services = new ProjectServices("apis", { project: config.project });
  const needsApis: pulumi.ComponentResourceOptions = { transformations: [services.apiDependencies] };
  // Resource Manager answers this lookup: on a fresh project its API must be on first.
  const project = gcp.organizations.getProjectOutput(
    { projectId: config.project },
    { dependsOn: [services.service("cloudresourcemanager.googleapis.com")] },
  );
  const agents = new ServiceAgents("service-agents", { project: config.project }, needsApis);
  const firestore = new FirestoreDatabase(
    "firestore",
    { project: config.project, location: config.firestore.location, deletionProtection: config.firestore.deletionProtection },
    needsApis,
  );
  // Every collection the functions write expires (their documents carry expire_at): TTL policies on the database.
  new FirestoreTtl(
    "firestore-ttl",
    { project: config.project, collections: expiringCollections(config.firestoreCollectionPrefix).map((c) => c.name), database: firestore.database },
    needsApis,
  );

  const topics = new PipelineTopics(
    "topics",
    {
      naming,
      topicNames: [
        ...pipeline.transitions.flatMap((t) => [t.inputTopicName, t.outputTopicName]),
        ...(shadow ? liveTriggerTopics(pipeline).map(shadowTopicName) : []),
      ],
    },
    needsApis,
  );
  const dataset = new CompletionDataset(
    "completions",
    { naming, datasetId: config.bigquery.datasetId, location: config.bigquery.location, deletionProtection: config.bigquery.deletionProtection },
    needsApis,
  );
  const slackWebhook = new SlackWebhookSecret("slack-webhook", { naming, secretId: "slack-webhook-url", webhookUrl: secrets.slackWebhookUrl }, needsApis);
  const sources = new FunctionSources("function-sources", { naming, project: config.project, region: config.region }, needsApis);
  const build = new FunctionBuild(
    "function-build",
    { naming, project: config.project, region: config.region, sourceBucket: sources.bucket.name },
    needsApis,
  );

  const functions = specs.map((spec, i) => {
    const archive = archives[i]!;
    return new PipelineFunction(
      spec.name,
      {
        naming,
        project: config.project,
        region: config.region,
        spec,
        archive: { sha256: archive.sha256, file: archiveFiles[i]! },
        sourceBucket: sources.bucket.name,
        environment: functionEnvironment(spec, pipeline, config, archive.sha256, config.retention),
        slackWebhook: slackWebhook.ref,
        settings: config.functions,
        publishTopics: new Map(spec.publishesTo.map((name) => [name, topics.topic(name)])),
        dataset: dataset.dataset,
        projectNumber: project.number,
        build: { serviceAccount: build.serviceAccountName, dockerRepository: build.dockerRepository, grants: build.grants },
        database: firestore.database,
      },
      needsApis,
    );
  });
  const functionByName = new Map(functions.map((f) => [f.spec.name, f]));

  const watched: WatchedSubscription[] = [];
  for (const t of pipeline.transitions) {
    const target = functionByName.get(t.functionName)!;
    const subscriptionName = pushSubscriptionName(t.inputTopicName);
    const push = new PushSubscription(
      `${t.id}-push`,
      {
        naming,
        project: config.project,
        region: config.region,
        shortName: t.id,
        subscriptionName,
        deadLetterTopicName: t.deadLetterTopicName,
        deadLetterSubscriptionName: t.deadLetterSubscriptionName,
        inputTopic: topics.topic(t.inputTopicName),
        target,
        push: config.push,
        functionTimeoutSeconds: config.functions.timeoutSeconds,
        pubsubServiceAgent: agents.pubsub.member,
      },
      needsApis,
    );
    watched.push({
      subscriptionName,
      deadLetterSubscriptionName: t.deadLetterSubscriptionName,
      functionName: t.functionName,
      resources: [push.subscription, push.deadLetter.subscription],
    });
  }

  for (const fn of functions) {
    if (fn.spec.kind !== "scheduled") continue;
    new ScheduledInvocation(
      `${fn.spec.name}-schedule`,
      {
        naming,
        project: config.project,
        region: config.region,
        target: fn,
        schedule: fn.spec.schedule!,
        timeZone: pipeline.timeZone,
        functionTimeoutSeconds: config.functions.timeoutSeconds,
      },
      needsApis,
    );
  }

  if (shadow) {
    new ShadowTaps("shadow-taps", { naming, liveTopics: new Map(liveTriggerTopics(pipeline).map((n) => [n, topics.topic(n)])) }, needsApis);
  }

  const alerting = new Alerting(
    "alerting",
    {
      naming,
      project: config.project,
      region: config.region,
      config,
      slackAuthToken: secrets.slackAuthToken,
      functions: functions.map((f) => ({
        name: f.spec.name,
        serviceName: f.serviceName,
        ...(f.spec.kind === "scheduled" ? { scheduled: { schedule: f.spec.schedule, target: f.spec.target } } : {}),
      })),
      subscriptions: watched,
      transitions: pipeline.transitions,
      monitoringServiceAgent: agents.monitoring.member,
    },
    needsApis,
  );

  return {
    functions: Object.fromEntries(functions.map((f) => [f.spec.name, { url: f.uri, codeHash: f.codeHash, service: f.serviceName }])),
    topics: [...topics.topics.values()].map((t) => t.name),
    deadLetterSubscriptions: watched.map((w) => w.deadLetterSubscriptionName),
    datasetId: dataset.dataset.datasetId,
    dashboard: alerting.dashboard.id,
    sourceBucket: sources.bucket.name,
    artifactRepository: build.dockerRepository,
    firestoreDatabase: firestore.database.name,
  };
}

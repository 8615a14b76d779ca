// One Cloud Function (2nd gen) of the pipeline, an orchestrator or a scheduled job: its own service
// account with least privilege, its archive uploaded under a name that carries the code hash, and the
// function itself.
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { Component } from "../component.ts";
import type { ComponentArgs } from "../component.ts";
import type { FunctionSpec } from "../function-registry.ts";
import { SLACK_WEBHOOK_ENV } from "../function-env.ts";
import { functionGrants, grantResourceSuffix } from "../function-grants.ts";
import { codeHashLabel } from "../naming.ts";
import type { Naming } from "../naming.ts";
import type { StackConfig } from "../stack-config.ts";

type Kinds = {
  account: gcp.serviceaccount.AccountArgs;
  sourceObject: gcp.storage.BucketObjectArgs;
  function: gcp.cloudfunctionsv2.FunctionArgs;
  projectRole: gcp.projects.IAMMemberArgs;
  datasetRole: gcp.bigquery.DatasetIamMemberArgs;
  topicPublisher: gcp.pubsub.TopicIAMMemberArgs;
  secretAccessor: gcp.secretmanager.SecretIamMemberArgs;
};

export interface SlackWebhookRef {
  /** Secret resource id (projects/P/secrets/S), for the IAM binding. */
  secretResourceId: pulumi.Input<string>;
  /** Secret id (S), for secretEnvironmentVariables. */
  secretId: pulumi.Input<string>;
  /** The pinned version number, so a rotation shows in the preview and redeploys. */
  version: pulumi.Input<string>;
}

export interface PipelineFunctionArgs extends ComponentArgs<Kinds> {
  naming: Naming;
  project: string;
  region: string;
  spec: FunctionSpec;
  /** The built archive: its sha256 and the file to upload. */
  archive: { sha256: string; file: string };
  sourceBucket: pulumi.Input<string>;
  /** Plain environment (see function-env.ts); must hold CODE_HASH = archive.sha256. */
  environment: Record<string, string>;
  slackWebhook: SlackWebhookRef;
  settings: StackConfig["functions"];
  /** Topics it may publish to, by model name (its output topic; every output topic for the sweeper). */
  publishTopics: ReadonlyMap<string, gcp.pubsub.Topic>;
  dataset: gcp.bigquery.Dataset;
  /** The project number: Secret Manager normalises secret references to it, so a project id shows a permanent diff. */
  projectNumber: pulumi.Input<string>;
  /** The build: the build account's full name, the image repository, and the account's grants (needed before a build). */
  build: { serviceAccount: pulumi.Input<string>; dockerRepository: pulumi.Input<string>; grants: readonly pulumi.Resource[] };
  /** The Firestore database the function writes; it must exist before the function serves. */
  database: pulumi.Resource;
}

/**
 * The component's type name keeps the class's first name (orchestration:infra:OrchestrationFunction):
 * every child's URN includes it, so renaming it would make a preview replace each deployed function.
 */
export const PIPELINE_FUNCTION_TYPE_NAME = "OrchestrationFunction";

export class PipelineFunction extends Component<Kinds> {
  readonly spec: FunctionSpec;
  readonly codeHash: string;
  readonly function: gcp.cloudfunctionsv2.Function;
  readonly account: gcp.serviceaccount.Account;
  readonly sourceObject: gcp.storage.BucketObject;
  /** The runtime account's access to the Slack webhook secret, which the function mounts at start. */
  readonly secretAccessor: gcp.secretmanager.SecretIamMember;
  /** The underlying Cloud Run service's (short) name: invoker IAM is granted on it. */
  readonly serviceName: pulumi.Output<string>;
  /** The Cloud Run URL: push endpoint, OIDC audience, uptime-check host. */
  readonly uri: pulumi.Output<string>;

  constructor(name: string, args: PipelineFunctionArgs, opts?: pulumi.ComponentResourceOptions) {
    super(PIPELINE_FUNCTION_TYPE_NAME, name, args.transform, opts);
    const { naming, spec } = args;
    this.spec = spec;
    this.codeHash = args.archive.sha256;
    if (args.environment.CODE_HASH !== args.archive.sha256) {
      throw new Error(`${spec.name}: CODE_HASH in the environment does not match the archive's sha256`);
    }

    this.account = this.child("account", gcp.serviceaccount.Account, "sa", {
      accountId: naming.serviceAccountId(spec.shortName, "fn"),
      displayName: `${spec.name} runtime`,
      description: `Runtime identity of ${spec.name}; holds only what it needs.`,
    });
    const member = pulumi.interpolate`serviceAccount:${this.account.email}`;

    // Least privilege, derived from the function's permission contract (functions/core/permissions.ts):
    // each needed permission through the smallest predefined role on the narrowest scope that holds it.
    let secretAccessor: gcp.secretmanager.SecretIamMember | undefined;
    for (const grant of functionGrants(spec)) {
      const suffix = grantResourceSuffix(grant);
      const { role } = grant;
      switch (grant.scope.kind) {
        case "project":
          this.child("projectRole", gcp.projects.IAMMember, suffix, { project: args.project, role, member });
          break;
        case "dataset":
          this.child("datasetRole", gcp.bigquery.DatasetIamMember, suffix, { datasetId: args.dataset.datasetId, role, member });
          break;
        case "topic": {
          const topic = args.publishTopics.get(grant.scope.topic);
          if (topic === undefined) throw new Error(`${spec.name}: needs ${role} on topic ${grant.scope.topic}, which is not among its publishTopics`);
          this.child("topicPublisher", gcp.pubsub.TopicIAMMember, suffix, { topic: topic.name, role, member });
          break;
        }
        case "secret":
          if (secretAccessor !== undefined) throw new Error(`${spec.name}: more than one role derived on the Slack webhook secret`);
          secretAccessor = this.child("secretAccessor", gcp.secretmanager.SecretIamMember, suffix, {
            secretId: args.slackWebhook.secretResourceId,
            role,
            member,
          });
          break;
      }
    }
    if (secretAccessor === undefined) throw new Error(`${spec.name}: its permission contract grants nothing on the Slack webhook secret it mounts`);
    this.secretAccessor = secretAccessor;

    // The object name carries the full hash: a code change is a new object, hence a new deployment.
    this.sourceObject = this.child("sourceObject", gcp.storage.BucketObject, "source", {
      bucket: args.sourceBucket,
      name: `${spec.name}/${args.archive.sha256}.zip`,
      source: new pulumi.asset.FileAsset(args.archive.file),
      contentType: "application/zip",
    });

    this.function = this.child("function", gcp.cloudfunctionsv2.Function, "function", {
      name: naming.functionName(spec.name),
      location: args.region,
      description: `${spec.kind} ${spec.name}`,
      labels: naming.labels({ "code-hash": codeHashLabel(args.archive.sha256), function: spec.name }),
      buildConfig: {
        runtime: "nodejs22",
        entryPoint: spec.target,
        source: { storageSource: { bucket: args.sourceBucket, object: this.sourceObject.name } },
        serviceAccount: args.build.serviceAccount,
        dockerRepository: args.build.dockerRepository,
      },
      serviceConfig: {
        serviceAccountEmail: this.account.email,
        availableMemory: args.settings.memory,
        // Unset: Cloud Functions derives the CPU from the memory. Concurrency above 1 needs 1 CPU
        // (checked with the config, functions/core/instance-sizing.ts).
        ...(args.settings.cpu === undefined ? {} : { availableCpu: args.settings.cpu }),
        maxInstanceRequestConcurrency: args.settings.concurrency,
        timeoutSeconds: args.settings.timeoutSeconds,
        minInstanceCount: args.settings.minInstances,
        maxInstanceCount: args.settings.maxInstances,
        // Ingress: push deliveries come from Pub/Sub and uptime checks from Cloud Monitoring's
        // probers on the internet, neither of which is "internal" traffic, so ALLOW_INTERNAL_ONLY
        // would reject both. ALLOW_ALL is safe because invocation is IAM-only: no allUsers binding,
        // pushes carry an OIDC token of the push account (run.invoker on this service) and uptime
        // checks authenticate as the Monitoring service agent (serviceAgentAuthentication OIDC_TOKEN).
        ingressSettings: "ALLOW_ALL",
        allTrafficOnLatestRevision: true,
        environmentVariables: args.environment,
        secretEnvironmentVariables: [
          {
            key: SLACK_WEBHOOK_ENV,
            projectId: args.projectNumber,
            secret: args.slackWebhook.secretId,
            version: args.slackWebhook.version,
          },
        ],
      },
    },
    // The first revision mounts the secret and fails if the runtime account cannot read it yet; the
    // build needs its account's grants; the first request may write to the database.
    { dependsOn: [this.secretAccessor, args.database, ...args.build.grants] });
    // serviceConfig.service is the full resource name; filters, uptime labels and IAM take the short one.
    this.serviceName = this.function.serviceConfig.apply((s) =>
      requireField(s?.service, `${spec.name} serviceConfig.service`).split("/").pop()!,
    );
    this.uri = this.function.serviceConfig.apply((s) => requireField(s?.uri, `${spec.name} serviceConfig.uri`));
    this.registerOutputs({ name: this.function.name, uri: this.uri, codeHash: this.codeHash });
  }
}

function requireField(value: string | undefined, what: string): string {
  // Known after deployment (and under mocks); during a real preview the apply is not run with unknowns.
  if (value === undefined || value === "") throw new Error(`${what} is empty`);
  return value;
}

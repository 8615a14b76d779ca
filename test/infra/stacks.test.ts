// The program under Pulumi mocks, for every stack: what it declares and how it is wired. Expected
// values come from the stack's own config and pipeline model, never from hard-coded counts.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { RUNTIME_ENV_KEYS } from "../../functions/core/runtime-env.ts";
import { alertPolicies } from "../../infra/alerting/policies.ts";
import { buildArchives } from "../../infra/bundle/build-all.ts";
import { manifestOf } from "../../infra/bundle/manifest.ts";
import { functionRegistry } from "../../infra/function-registry.ts";
import { pushSubscriptionName } from "../../infra/naming.ts";
import { MOCK_PROJECT_NUMBER } from "../../tools/plan/mocks.ts";
import { SECRET_PLACEHOLDER } from "../../tools/plan/stack-files.ts";
import { accountEmail, ofType, one, planOf, ROOT, STACKS, stackModel, T } from "./helpers.ts";

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => v as Obj;
const pubsubAgent = `serviceAccount:service-${MOCK_PROJECT_NUMBER}@gcp-sa-pubsub.iam.gserviceaccount.com`;
const monitoringAgent = `serviceAccount:service-${MOCK_PROJECT_NUMBER}@gcp-sa-monitoring-notification.iam.gserviceaccount.com`;

describe("the Pulumi program under mocks", function () {
  // The first evaluation bundles every function (esbuild, seconds on a busy machine); later ones reuse it.
  this.timeout(180_000);

  for (const stack of STACKS) {
    describe(`stack ${stack}`, () => {
      const { config, pipeline } = stackModel(stack);
      const specs = functionRegistry(pipeline);
      const project = config.project;

      it("inventory: per transition a function, its accounts, a push and a dead-letter subscription; topics once each", async () => {
        const plan = await planOf(stack);
        const n = pipeline.transitions.length;
        const topicNames = new Set(pipeline.transitions.flatMap((t) => [t.inputTopicName, t.outputTopicName, t.deadLetterTopicName]));
        assert.deepEqual(new Set(ofType(plan, T.topic).map((r) => r.inputs.name)), topicNames);
        assert.equal(ofType(plan, T.topic).length, topicNames.size);
        assert.equal(ofType(plan, T.function).length, specs.length);
        assert.equal(ofType(plan, T.subscription).length, 2 * n);
        const scheduled = specs.filter((s) => s.kind === "scheduled").length;
        // A runtime account per function, a push account per transition, a scheduler account per
        // scheduled function, and the functions' build account.
        assert.equal(ofType(plan, T.account).length, specs.length + n + scheduled + 1);
        assert.equal(ofType(plan, "gcp:cloudscheduler/job:Job").length, scheduled);
        assert.equal(ofType(plan, T.bucketObject).length, specs.length);
        assert.equal(ofType(plan, T.table).length, 3);
        assert.deepEqual(ofType(plan, T.table).map((r) => r.inputs.tableId).sort(), ["phase_completion_status", "phase_completions", "phase_execution_log"]);
        // Two Slack channels, and the email channel of the alerts about Slack when alertEmail is set.
        assert.equal(ofType(plan, T.notificationChannel).length, config.alerts.email === undefined ? 2 : 3);
        assert.equal(ofType(plan, T.logMetric).length, 6);
        assert.equal(ofType(plan, T.dashboard).length, 1);
        const names = plan.resources.map((r) => `${r.type}::${r.name}`);
        assert.equal(new Set(names).size, names.length, "logical names are unique per type");
      });

      it("wiring of every transition: topic -> push subscription -> that function's URL, OIDC account with run.invoker on that service, dead-letter topic with its subscription and the service agent's bindings", async () => {
        const plan = await planOf(stack);
        const outputs = obj(plan.outputs.functions);
        for (const t of pipeline.transitions) {
          const topic = one(plan, T.topic, (i) => i.name === t.inputTopicName, `input topic of ${t.id}`);
          const sub = one(plan, T.subscription, (i) => i.name === pushSubscriptionName(t.inputTopicName), `push subscription of ${t.id}`);
          assert.equal(sub.inputs.topic, `projects/${project}/topics/${topic.inputs.name as string}`);

          const fn = one(plan, T.function, (i) => i.name === t.functionName, `function of ${t.id}`);
          const url = obj(outputs[t.functionName]).url as string;
          const push = obj(sub.inputs.pushConfig);
          assert.equal(push.pushEndpoint, url);
          const oidc = obj(push.oidcToken);
          assert.equal(oidc.audience, url);

          const pushAccount = one(plan, T.account, (i) => accountEmail(project, { inputs: i } as never) === oidc.serviceAccountEmail, `push account of ${t.id}`);
          assert.notEqual(oidc.serviceAccountEmail, obj(fn.inputs.serviceConfig).serviceAccountEmail, "push identity is not the runtime identity");
          one(
            plan,
            T.runServiceIamMember,
            (i) => i.role === "roles/run.invoker" && i.member === `serviceAccount:${oidc.serviceAccountEmail as string}` && i.name === t.functionName && i.location === config.region,
            `run.invoker for the push account on ${t.functionName}`,
          );
          // The push account may invoke nothing else.
          assert.equal(ofType(plan, T.runServiceIamMember).filter((r) => r.inputs.member === `serviceAccount:${oidc.serviceAccountEmail as string}`).length, 1);

          assert.ok((sub.inputs.ackDeadlineSeconds as number) >= config.functions.timeoutSeconds);
          const retry = obj(sub.inputs.retryPolicy);
          assert.equal(retry.minimumBackoff, `${config.push.minimumBackoffSeconds}s`);
          assert.equal(retry.maximumBackoff, `${config.push.maximumBackoffSeconds}s`);
          assert.deepEqual(sub.inputs.expirationPolicy, { ttl: "" });

          const dlqTopic = one(plan, T.topic, (i) => i.name === t.deadLetterTopicName, `dead-letter topic of ${t.id}`);
          const dlqTopicId = `projects/${project}/topics/${dlqTopic.inputs.name as string}`;
          assert.deepEqual(sub.inputs.deadLetterPolicy, { deadLetterTopic: dlqTopicId, maxDeliveryAttempts: config.push.maxDeliveryAttempts });
          one(plan, T.subscription, (i) => i.name === t.deadLetterSubscriptionName && i.topic === dlqTopicId, `dead-letter subscription of ${t.id}`);

          one(plan, T.topicIamMember, (i) => i.topic === t.deadLetterTopicName && i.role === "roles/pubsub.publisher" && i.member === pubsubAgent, "agent publishes to the DLQ");
          one(plan, T.subscriptionIamMember, (i) => i.subscription === sub.inputs.name && i.role === "roles/pubsub.subscriber" && i.member === pubsubAgent, "agent subscribes to the source");
          one(
            plan,
            T.accountIamMember,
            (i) => i.serviceAccountId === `projects/${project}/serviceAccounts/${accountEmail(project, pushAccount)}` && i.role === "roles/iam.serviceAccountTokenCreator" && i.member === pubsubAgent,
            "agent mints tokens for the push account",
          );
        }
      });

      it("every function: nodejs22, its entry point, its own account with least privilege, the webhook as a secret reference", async () => {
        const plan = await planOf(stack);
        for (const spec of specs) {
          const fn = one(plan, T.function, (i) => i.name === spec.name, spec.name);
          const build = obj(fn.inputs.buildConfig);
          const svc = obj(fn.inputs.serviceConfig);
          assert.equal(build.runtime, "nodejs22");
          assert.equal(build.entryPoint, spec.target);
          assert.equal(svc.ingressSettings, "ALLOW_ALL");
          assert.equal(svc.timeoutSeconds, config.functions.timeoutSeconds);
          assert.equal(svc.minInstanceCount, config.functions.minInstances);
          assert.equal(svc.maxInstanceCount, config.functions.maxInstances);
          const env = obj(svc.environmentVariables);
          assert.equal(env[RUNTIME_ENV_KEYS.functionName], spec.name);
          assert.equal(env[RUNTIME_ENV_KEYS.projectId], project);
          assert.equal(env[RUNTIME_ENV_KEYS.bigqueryDataset], config.bigquery.datasetId);
          assert.equal(env[RUNTIME_ENV_KEYS.transitionId], spec.transitionId);
          assert.deepEqual(JSON.parse(env[RUNTIME_ENV_KEYS.pipelineConfig] as string).transitions.length, pipeline.transitions.length);
          assert.ok(!(RUNTIME_ENV_KEYS.slackWebhookUrl in env), "the webhook is never a plain variable");
          const secrets = svc.secretEnvironmentVariables as Obj[];
          assert.deepEqual(secrets.map((s) => s.key), [RUNTIME_ENV_KEYS.slackWebhookUrl]);

          const email = svc.serviceAccountEmail as string;
          const member = `serviceAccount:${email}`;
          const grants = plan.resources.filter((r) => r.inputs.member === member).map((r) => `${r.type}|${r.inputs.role as string}|${String(r.inputs.topic ?? r.inputs.datasetId ?? r.inputs.project ?? r.inputs.secretId)}`);
          const expected = [
            `${T.projectIamMember}|roles/datastore.user|${project}`,
            `${T.projectIamMember}|roles/bigquery.jobUser|${project}`,
            `${T.datasetIamMember}|roles/bigquery.dataEditor|${config.bigquery.datasetId}`,
            `${T.secretIamMember}|roles/secretmanager.secretAccessor|projects/${project}/secrets/slack-webhook-url`,
            ...spec.publishesTo.map((topic) => `${T.topicIamMember}|roles/pubsub.publisher|${topic}`),
          ];
          assert.deepEqual(grants.sort(), expected.sort());
        }
      });

      it("code hash: object name, code-hash label and CODE_HASH equal the manifest of `npm run build`, and the uploaded file is those bytes", async () => {
        const plan = await planOf(stack);
        const manifest = manifestOf(await buildArchives(ROOT, functionRegistry(stackModel("dev").pipeline)));
        for (const spec of specs) {
          const entry = manifest.functions[spec.name];
          assert.ok(entry !== undefined, `${spec.name} is in the manifest`);
          const sha = entry.sha256;
          const object = one(plan, T.bucketObject, (i) => String(i.name).startsWith(`${spec.name}/`), `source object of ${spec.name}`);
          assert.equal(object.inputs.name, `${spec.name}/${sha}.zip`);
          const file = obj(object.inputs.source).path as string;
          assert.equal(file, entry.archive);
          assert.equal(createHash("sha256").update(readFileSync(path.join(ROOT, file))).digest("hex"), sha);
          const fn = one(plan, T.function, (i) => i.name === spec.name, spec.name);
          const label = obj(fn.inputs.labels)["code-hash"] as string;
          assert.equal(label.length, 63);
          assert.ok(sha.startsWith(label));
          assert.equal(obj(obj(fn.inputs.serviceConfig).environmentVariables)[RUNTIME_ENV_KEYS.codeHash], sha);
          assert.equal(obj(obj(fn.inputs.buildConfig).source).storageSource !== undefined, true);
          assert.equal(obj(obj(obj(fn.inputs.buildConfig).source).storageSource).object, `${spec.name}/${sha}.zip`);
          assert.equal(obj(obj(plan.outputs.functions)[spec.name]).codeHash, sha);
        }
      });

      it("alerting: every function has its 5xx and health policies and an authenticated /health uptime check; every subscription its backlog and dead-letter policies; every transition a stall policy", async () => {
        const plan = await planOf(stack);
        const policies = ofType(plan, T.alertPolicy);
        const conditionsOf = (p: { inputs: Obj }) => (p.inputs.conditions as Obj[]).map((c) => JSON.stringify(c));
        const hasPolicy = (pred: (conds: string[]) => boolean) => policies.some((p) => pred(conditionsOf(p)));
        for (const spec of specs) {
          assert.ok(hasPolicy((c) => c.some((x) => x.includes("run.googleapis.com/request_count") && x.includes(`service_name=\\"${spec.name}\\"`) && x.includes("5xx"))), `5xx policy of ${spec.name}`);
          const check = one(plan, T.uptimeCheck, (i) => obj(obj(i.monitoredResource).labels).service_name === spec.name, `uptime check of ${spec.name}`);
          const http = obj(check.inputs.httpCheck);
          assert.equal(http.path, "/health");
          assert.equal(http.useSsl, true);
          assert.deepEqual(http.serviceAgentAuthentication, { type: "OIDC_TOKEN" });
          assert.equal(obj(check.inputs.monitoredResource).type, "cloud_run_revision");
          one(plan, T.runServiceIamMember, (i) => i.name === spec.name && i.member === monitoringAgent && i.role === "roles/run.invoker", `uptime invoker on ${spec.name}`);
          assert.ok(hasPolicy((c) => c.some((x) => x.includes("uptime_check/check_passed") && x.includes(`uptime-${spec.name}-check-id`))), `uptime policy of ${spec.name}`);
        }
        for (const t of pipeline.transitions) {
          assert.ok(hasPolicy((c) => c.some((x) => x.includes("oldest_unacked_message_age") && x.includes(`subscription_id=\\"${pushSubscriptionName(t.inputTopicName)}\\"`))), `backlog policy of ${t.id}`);
          assert.ok(hasPolicy((c) => c.some((x) => x.includes("num_undelivered_messages") && x.includes(`subscription_id=\\"${t.deadLetterSubscriptionName}\\"`))), `dead-letter policy of ${t.id}`);
          assert.ok(hasPolicy((c) => c.some((x) => x.includes("triggers_published") && x.includes(`transition=\\"${t.id}\\"`))), `stall policy of ${t.id}`);
        }
        const logMatch = policies.filter((p) => conditionsOf(p).some((x) => x.includes("conditionMatchedLog")));
        assert.equal(logMatch.length, 3);
        const bothFailed = logMatch.filter((p) => conditionsOf(p).some((x) => x.includes("both_stores_failed")));
        assert.equal(bothFailed.length, 1);
        assert.equal(obj(obj(bothFailed[0]!.inputs.alertStrategy).notificationRateLimit).period, "300s");
        // phase_stalled and alert_not_delivered notify the email channel (Slack only in dev without alertEmail).
        const email = ofType(plan, T.notificationChannel).find((c) => c.inputs.type === "email");
        assert.equal(email === undefined ? undefined : obj(email.inputs.labels).email_address, config.alerts.email);
        for (const event of ["phase_stalled", "alert_not_delivered"]) {
          const p = logMatch.filter((x) => conditionsOf(x).some((c) => c.includes(`jsonPayload.event=\\"${event}\\"`)));
          assert.equal(p.length, 1, event);
          assert.ok(obj(p[0]!.inputs.alertStrategy).notificationRateLimit !== undefined, event);
          const channel = (p[0]!.inputs.notificationChannels as string[])[0]!;
          assert.ok(channel.endsWith(email === undefined ? "alerting-slack-errors" : "alerting-email-oncall"), `${event} -> ${channel}`);
        }
        for (const spec of specs.filter((s) => s.kind === "scheduled")) {
          assert.ok(hasPolicy((c) => c.some((x) => x.includes("absent_over_time") && x.includes(`${spec.target}_completions`))), `stop alert of ${spec.name}`);
        }
        assert.ok(hasPolicy((c) => c.some((x) => x.includes("logging_googleapis_com:user_dual_write_failures"))), "dual-write fallback policy (PromQL)");
      });

      it("alerting declares exactly the policies of its pure plan (infra/alerting/policies.ts), each with its severity and channel", async () => {
        const plan = await planOf(stack);
        const expected = alertPolicies({
          thresholds: config.alerts,
          functions: specs.map((s) => ({ name: s.name, ...(s.kind === "scheduled" ? { scheduled: { schedule: s.schedule, target: s.target } } : {}) })),
          subscriptions: pipeline.transitions.map((t) => ({
            subscriptionName: pushSubscriptionName(t.inputTopicName),
            deadLetterSubscriptionName: t.deadLetterSubscriptionName,
            functionName: t.functionName,
          })),
          transitions: pipeline.transitions,
        });
        const channelSuffix = { errors: "slack-errors", warnings: "slack-warnings", independent: config.alerts.email === undefined ? "slack-errors" : "email-oncall" };
        const declared = ofType(plan, T.alertPolicy).map((p) => ({
          name: p.name,
          severity: p.inputs.severity,
          channel: (p.inputs.notificationChannels as string[])[0]!.split("/").pop(),
          conditions: (p.inputs.conditions as unknown[]).length,
        }));
        assert.deepEqual(
          declared.sort((a, b) => a.name.localeCompare(b.name)),
          expected
            .map((s) => ({ name: `alerting-policy-${s.key}`, severity: s.severity, channel: `alerting-${channelSuffix[s.channel]}`, conditions: s.conditions.length }))
            .sort((a, b) => a.name.localeCompare(b.name)),
        );
      });

      it("every alert policy documents a runbook that exists, linked under the configured repository", async () => {
        const plan = await planOf(stack);
        for (const p of ofType(plan, T.alertPolicy)) {
          const doc = obj(p.inputs.documentation);
          const links = doc.links as Obj[];
          assert.equal(links.length, 1);
          const url = links[0]!.url as string;
          const prefix = `${config.repository.url}/blob/${config.repository.ref}/docs/runbooks/`;
          assert.ok(url.startsWith(prefix), url);
          assert.ok(existsSync(path.join(ROOT, "docs/runbooks", url.slice(prefix.length))), `runbook ${url} exists`);
          assert.ok(String(doc.content).includes(url));
          assert.equal((p.inputs.notificationChannels as string[]).length, 1);
        }
      });

      it("secrets never appear in plain form; the notification channels carry the token as a secret", async () => {
        const plan = await planOf(stack);
        for (const ch of ofType(plan, T.notificationChannel).filter((c) => c.inputs.type !== "email")) {
          assert.equal(ch.inputs.type, "slack");
          assert.equal(ch.inputs.sensitiveLabels, SECRET_PLACEHOLDER);
        }
        const version = one(plan, "gcp:secretmanager/secretVersion:SecretVersion", () => true, "webhook secret version");
        assert.equal(version.inputs.secretData, SECRET_PLACEHOLDER);
      });

      it(`deletion protection is ${config.bigquery.deletionProtection ? "on" : "off"} on every table`, async () => {
        const plan = await planOf(stack);
        for (const table of ofType(plan, T.table)) assert.equal(table.inputs.deletionProtection, config.bigquery.deletionProtection);
        const expiring = one(plan, T.table, (i) => i.tableId === "phase_execution_log", "execution log");
        assert.equal(obj(expiring.inputs.timePartitioning).expirationMs, 90 * 24 * 3600 * 1000);
        const completions = one(plan, T.table, (i) => i.tableId === "phase_completions", "completions");
        assert.deepEqual(completions.inputs.clusterings, ["phase", "processor_name"]);
        assert.equal(obj(completions.inputs.timePartitioning).field, "game_date");
      });
    });
  }

  it("prod protects its tables; dev does not (the config difference reaches the resources)", async () => {
    const prod = await planOf("prod");
    const dev = await planOf("dev");
    assert.ok(ofType(prod, T.table).every((t) => t.inputs.deletionProtection === true));
    assert.ok(ofType(dev, T.table).every((t) => t.inputs.deletionProtection === false));
  });

  it("staging's pipeline override reaches the functions' PIPELINE_CONFIG", async () => {
    const staging = await planOf("staging");
    const fn = one(staging, T.function, (i) => i.name === "phase2-to-phase3-orchestrator", "phase 2 orchestrator");
    const pipeline = JSON.parse(obj(obj(fn.inputs.serviceConfig).environmentVariables)[RUNTIME_ENV_KEYS.pipelineConfig] as string);
    assert.equal(pipeline.transitions[0].rule.deadline.enabled, true);
  });
});

// Every kind of function answers /health 200 when it holds only the permissions the program grants
// its service account. The program (dev stack) is evaluated under mocks; each function is served by
// the functions framework with the environment the program declares for it, and its Pub/Sub client
// talks to the emulator through the IAM-enforcing proxy configured with the Pub/Sub permissions of
// the roles the program binds to that account. The metadata check /health used to make (topics.get)
// is refused by the same proxy: the bug it would have caught.
import assert from "node:assert/strict";
import path from "node:path";
import { PubSub } from "@google-cloud/pubsub";
import { PUBSUB_PUBLISH } from "../../functions/core/permissions.ts";
import { createBigQueryClient } from "../../functions/lib/bigquery-store.ts";
import { functionRegistry, type FunctionSpec } from "../../infra/function-registry.ts";
import type { StackConfig } from "../../infra/stack-config.ts";
import type { PlanResult } from "../../tools/plan/evaluate.ts";
import { provisionOrchestrationTables, startBigQueryFake, type BigQueryFake } from "../../tools/bigquery-fake/index.ts";
import { pubsubAt } from "../../tools/emulators/clients.ts";
import { sharedEmulators } from "../harness/global-fixtures.ts";
import { startIamProxy, type IamProxy } from "../harness/iam-proxy.ts";
import { one, planOf, ROOT, stackModel, T } from "../infra/helpers.ts";
import { plannedGrants, pubsubProxyGrants } from "../infra/planned-grants.ts";
import { settledHealth, startFunctionProcess, startSlackSink, type FunctionProcess, type SlackSink } from "./support.ts";

const STACK = "dev";
const PERMISSION_DENIED = 7;

describe("/health with only the permissions the program grants (IAM-enforcing Pub/Sub proxy)", function () {
  this.timeout(600_000);
  let plan: PlanResult;
  let config: StackConfig;
  let specs: FunctionSpec[];
  let bq: BigQueryFake;
  let slack: SlackSink;
  const proxies: IamProxy[] = [];
  const running: FunctionProcess[] = [];

  before(async () => {
    plan = await planOf(STACK);
    const model = stackModel(STACK);
    config = model.config;
    specs = functionRegistry(model.pipeline);
    bq = await startBigQueryFake({ projectId: config.project });
    await provisionOrchestrationTables(createBigQueryClient({ projectId: config.project, apiEndpoint: bq.url }), config.bigquery.datasetId);
    slack = await startSlackSink();
    // The topics exist (created directly on the emulator, as the program would create them).
    const admin = new PubSub({ projectId: config.project, apiEndpoint: sharedEmulators().pubsub.host });
    for (const t of new Set(specs.flatMap((s) => s.publishesTo))) await admin.topic(t).get({ autoCreate: true });
    await admin.close();
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((f) => f.stop()));
    await Promise.all(proxies.splice(0).map((p) => p.close()));
  });
  after(async () => {
    await bq?.stop();
    await slack?.close();
  });

  /** Serves `spec` with its declared environment, Pub/Sub through an IAM proxy holding `grants`' permissions. */
  async function serve(spec: FunctionSpec, withGrants: (g: ReturnType<typeof plannedGrants>) => ReturnType<typeof plannedGrants> = (g) => g) {
    const grants = withGrants(plannedGrants(plan, config, spec));
    const proxy = await startIamProxy({ target: sharedEmulators().pubsub.host, grants: pubsubProxyGrants(grants, config.project) });
    proxies.push(proxy);
    const fn = one(plan, T.function, (i) => i.name === spec.name, spec.name);
    const declared = (fn.inputs.serviceConfig as { environmentVariables: Record<string, string> }).environmentVariables;
    const served = await startFunctionProcess({
      source: path.join(ROOT, spec.entry),
      target: spec.target,
      env: {
        ...declared,
        SLACK_WEBHOOK_URL: slack.url, // mounted from Secret Manager in the cloud
        FIRESTORE_EMULATOR_HOST: sharedEmulators().firestore.host,
        PUBSUB_EMULATOR_HOST: proxy.host,
        BIGQUERY_API_ENDPOINT: bq.url,
        METADATA_SERVER_DETECTION: "none",
      },
    });
    running.push(served);
    return { proxy, served };
  }

  const kinds = [
    { label: "orchestrator", pick: (s: FunctionSpec) => s.kind === "orchestrator" && s.transitionId === "phase2-to-phase3" },
    { label: "sweeper", pick: (s: FunctionSpec) => s.target === "sweep" },
    { label: "reconciler", pick: (s: FunctionSpec) => s.target === "reconcile" },
  ];
  for (const kind of kinds) {
    it(`${kind.label}: /health 200 with only its granted permissions; the old topics.get check is refused through the same proxy`, async () => {
      const spec = specs.find(kind.pick)!;
      const { proxy, served } = await serve(spec);
      const h = await settledHealth(served.url);
      assert.equal(h.status, 200, JSON.stringify(h.body));
      assert.ok(Object.values(h.body.dependencies ?? {}).every((d) => d.healthy));

      // It asked IAM for publish on every topic it publishes to, and everything it asked was held.
      const asked = proxy.calls.filter((c) => c.method === "/google.iam.v1.IAMPolicy/TestIamPermissions").flatMap((c) => c.checks);
      assert.deepEqual(
        asked.map((c) => c.resource).sort(),
        spec.publishesTo.map((t) => `projects/${config.project}/topics/${t}`).sort(),
      );
      assert.ok(asked.every((c) => c.permission === PUBSUB_PUBLISH && c.held));
      assert.deepEqual(proxy.calls.filter((c) => c.outcome === "denied"), [], "nothing the function did was refused");

      // The check /health used to make, with the same grants: PERMISSION_DENIED.
      const client = pubsubAt(proxy.host, config.project);
      try {
        await assert.rejects(client.topic(spec.publishesTo[0]!).getMetadata(), (err: { code?: number }) => err.code === PERMISSION_DENIED);
      } finally {
        await client.close();
      }
    });
  }

  it("orchestrator without its publisher binding: /health 503 naming the permission (the proxy really enforces the program's grants)", async () => {
    const spec = specs.find(kinds[0]!.pick)!;
    const { served } = await serve(spec, (grants) => grants.filter((g) => g.scope.kind !== "topic"));
    const h = await settledHealth(served.url);
    assert.equal(h.status, 503);
    assert.match(String(h.body.dependencies?.pubsub?.error), new RegExp(`${PUBSUB_PUBLISH.replaceAll(".", "\\.")} is not held on projects/${config.project}/topics/${spec.publishesTo[0]!}`));
  });
});

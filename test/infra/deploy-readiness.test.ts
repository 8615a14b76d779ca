// What a first `pulumi up` on a fresh project needs from the program, checked on the evaluated
// program (every declared resource with its inputs, URN, parent and dependencies): APIs enabled
// before anything uses them, the Firestore database, functions that wait for their secret access and
// their build account, secret references by project number, the source bucket's suffix and
// lifecycle. The dependency checks are shown to fail on program variants missing the dependency.
import assert from "node:assert/strict";
import * as path from "node:path";
import { REPOSITORY_ID } from "../../infra/components/function-build.ts";
import { requiredApis, SERVICE_TYPE, STACK_APIS } from "../../infra/required-apis.ts";
import { evaluateStack } from "../../tools/plan/evaluate.ts";
import type { PlanResult } from "../../tools/plan/evaluate.ts";
import { MOCK_PROJECT_NUMBER } from "../../tools/plan/mocks.ts";
import type { DeclaredResource } from "../../tools/plan/mocks.ts";
import { accountEmail, ofType, one, planOf, ROOT, STACKS, stackModel, T } from "./helpers.ts";

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v ?? {}) as Obj;
const variant = (file: string) => evaluateStack("dev", { programFile: path.join(ROOT, "test/infra/fixtures", file) });

const DATABASE = "gcp:firestore/database:Database";
const REPOSITORY = "gcp:artifactregistry/repository:Repository";
const BUCKET = "gcp:storage/bucket:Bucket";
const RANDOM_ID = "random:index/randomId:RandomId";

function urnOf(r: DeclaredResource): string {
  if (r.urn === undefined) throw new Error(`${r.name}: the evaluation recorded no URN`);
  return r.urn;
}

/** URNs reachable from `r` through dependency edges only (a parent is not a dependency). */
function dependencyClosure(plan: PlanResult, r: DeclaredResource): Set<string> {
  const byUrn = new Map(plan.resources.map((x) => [x.urn, x]));
  const seen = new Set<string>();
  const stack = [...(r.dependencies ?? [])];
  while (stack.length > 0) {
    const u = stack.pop()!;
    if (seen.has(u)) continue;
    seen.add(u);
    stack.push(...(byUrn.get(u)?.dependencies ?? []));
  }
  return seen;
}

/** Every custom resource that could be created before an API it needs is enabled, or is unclassified. */
function apiProblems(plan: PlanResult): string[] {
  const services = new Map(ofType(plan, SERVICE_TYPE).map((s) => [String(s.inputs.service), s]));
  const problems: string[] = [];
  for (const r of plan.resources.filter((x) => x.custom)) {
    const apis = requiredApis(r.type, r.inputs);
    if (apis === undefined) {
      problems.push(`${r.name}: type ${r.type} is not classified in infra/required-apis.ts`);
      continue;
    }
    const reachable = dependencyClosure(plan, r);
    for (const api of apis) {
      const service = services.get(api);
      if (service === undefined) problems.push(`${r.name}: needs ${api}, which no Service enables`);
      else if (!reachable.has(urnOf(service))) problems.push(`${r.name}: does not wait for ${api}`);
    }
  }
  return problems;
}

/** Functions not depending (directly) on a resource `wanted(fn)` returns. */
function functionsNotWaitingFor(plan: PlanResult, wanted: (fn: DeclaredResource) => DeclaredResource): string[] {
  return ofType(plan, T.function)
    .filter((fn) => !(fn.dependencies ?? []).includes(urnOf(wanted(fn))))
    .map((fn) => fn.name);
}

const runtimeMember = (fn: DeclaredResource) => `serviceAccount:${String(obj(fn.inputs.serviceConfig).serviceAccountEmail)}`;
const secretAccessorOf = (plan: PlanResult) => (fn: DeclaredResource) => {
  const [mounted] = obj(fn.inputs.serviceConfig).secretEnvironmentVariables as Obj[];
  return one(
    plan,
    T.secretIamMember,
    (i) => i.member === runtimeMember(fn) && i.role === "roles/secretmanager.secretAccessor" && String(i.secretId).endsWith(`/secrets/${String(mounted!.secret)}`),
    `${fn.name}'s access to the secret it mounts`,
  );
};
const databaseOf = (plan: PlanResult) => () => one(plan, DATABASE, () => true, "the Firestore database");

describe("deploy readiness of the program", function () {
  this.timeout(300_000);

  for (const stack of STACKS) {
    describe(stack, () => {
      it("every API the stack uses is a Service in its own component, never disabled on destroy", async () => {
        const plan = await planOf(stack);
        const services = ofType(plan, SERVICE_TYPE);
        assert.deepEqual(services.map((s) => s.inputs.service).sort(), [...STACK_APIS].sort());
        for (const s of services) {
          assert.equal(s.inputs.disableOnDestroy, false, s.name);
          assert.equal(s.inputs.disableDependentServices, false, s.name);
          assert.match(String(s.parent), /[:$]orchestration:infra:ProjectServices::apis$/, s.name);
        }
      });

      it("every resource waits for the Services of the APIs it needs, through its dependencies (a parent does not count)", async () => {
        assert.deepEqual(apiProblems(await planOf(stack)), []);
      });

      it("the (default) Firestore database: Native mode, the configured location, protected where deletion protection is on", async () => {
        const plan = await planOf(stack);
        const { config } = stackModel(stack);
        const db = databaseOf(plan)();
        assert.equal(db.inputs.name, "(default)");
        assert.equal(db.inputs.type, "FIRESTORE_NATIVE");
        assert.equal(db.inputs.locationId, config.firestore.location);
        const protectedDb = config.firestore.deletionProtection;
        assert.equal(protectedDb, stack === "prod");
        assert.equal(db.inputs.deleteProtectionState, protectedDb ? "DELETE_PROTECTION_ENABLED" : "DELETE_PROTECTION_DISABLED");
        assert.equal(db.inputs.deletionPolicy, protectedDb ? "ABANDON" : "DELETE");
        assert.equal(plan.outputs.firestoreDatabase, "(default)");
      });

      it("every function waits for its runtime account's access to the secret it mounts, and for the database", async () => {
        const plan = await planOf(stack);
        assert.ok(ofType(plan, T.function).length >= 4);
        assert.deepEqual(functionsNotWaitingFor(plan, secretAccessorOf(plan)), []);
        assert.deepEqual(functionsNotWaitingFor(plan, databaseOf(plan)), []);
      });

      it("functions build as a dedicated account holding only log writing, image writing on the repository and source reading, into a repository with a cleanup policy", async () => {
        const plan = await planOf(stack);
        const { config } = stackModel(stack);
        const account = one(plan, T.account, (i) => i.accountId === "functions-build", "build account");
        const email = accountEmail(config.project, account);
        const member = `serviceAccount:${email}`;
        const repo = one(plan, REPOSITORY, () => true, "function image repository");
        assert.equal(repo.inputs.format, "DOCKER");
        assert.equal(repo.inputs.location, config.region);
        const policies = repo.inputs.cleanupPolicies as Obj[];
        const keep = policies.find((p) => p.action === "KEEP");
        const del = policies.find((p) => p.action === "DELETE");
        assert.ok(Number(obj(keep?.mostRecentVersions).keepCount) >= 1, "keeps the most recent versions");
        assert.match(String(obj(del?.condition).olderThan), /^\d+s$/, "deletes versions older than a duration");
        assert.equal(repo.inputs.cleanupPolicyDryRun, false);

        const grants = plan.resources.filter((r) => r.inputs.member === member);
        const bucket = one(plan, BUCKET, () => true, "source bucket");
        assert.deepEqual(grants.map((g) => `${g.type} ${String(g.inputs.role)}`).sort(), [
          "gcp:artifactregistry/repositoryIamMember:RepositoryIamMember roles/artifactregistry.writer",
          "gcp:projects/iAMMember:IAMMember roles/logging.logWriter",
          "gcp:storage/bucketIAMMember:BucketIAMMember roles/storage.objectViewer",
        ]);
        assert.equal(grants.find((g) => g.type.includes("repositoryIamMember"))!.inputs.repository, REPOSITORY_ID);
        assert.equal(grants.find((g) => g.type.includes("bucketIAMMember"))!.inputs.bucket, bucket.inputs.name);

        for (const fn of ofType(plan, T.function)) {
          const build = obj(fn.inputs.buildConfig);
          assert.equal(build.serviceAccount, `projects/${config.project}/serviceAccounts/${email}`, fn.name);
          assert.equal(build.dockerRepository, `projects/${config.project}/locations/${config.region}/repositories/${REPOSITORY_ID}`, fn.name);
          assert.notEqual(runtimeMember(fn), member, `${fn.name} does not run as the build account`);
          for (const g of grants) assert.ok((fn.dependencies ?? []).includes(urnOf(g)), `${fn.name} waits for ${g.name}`);
        }
      });

      it("secret references name the project by number, as Secret Manager returns them (no permanent diff)", async () => {
        const plan = await planOf(stack);
        for (const fn of ofType(plan, T.function)) {
          for (const s of obj(fn.inputs.serviceConfig).secretEnvironmentVariables as Obj[]) assert.equal(s.projectId, MOCK_PROJECT_NUMBER, fn.name);
        }
      });

      it("the source bucket: a per-stack random suffix, versioned, and a lifecycle rule that only ever deletes replaced archives", async () => {
        const plan = await planOf(stack);
        const { config } = stackModel(stack);
        const suffix = one(plan, RANDOM_ID, () => true, "bucket suffix");
        assert.deepEqual(suffix.inputs.keepers, { stack, project: config.project });
        const bucket = one(plan, BUCKET, () => true, "source bucket");
        const name = String(bucket.inputs.name);
        assert.match(name, new RegExp(`^${config.project}-function-sources-[0-9a-f]{8}$`));
        assert.ok(name.length <= 63);
        assert.equal(plan.outputs.sourceBucket, name);
        for (const o of ofType(plan, T.bucketObject)) assert.equal(o.inputs.bucket, name, o.name);
        assert.deepEqual(bucket.inputs.versioning, { enabled: true });
        const rules = bucket.inputs.lifecycleRules as Obj[];
        assert.ok(rules.length > 0);
        for (const rule of rules.filter((r) => obj(r.action).type === "Delete")) {
          // Only noncurrent versions: the live archive of a function can never match.
          assert.equal(obj(rule.condition).withState, "ARCHIVED");
          assert.ok(Number(obj(rule.condition).daysSinceNoncurrentTime) > 0);
        }
      });
    });
  }

  it("the source bucket's suffix differs per stack and is stable across evaluations", async () => {
    const names = await Promise.all(STACKS.map(async (s) => String(one(await planOf(s), BUCKET, () => true, "bucket").inputs.name).slice(-8)));
    assert.equal(new Set(names).size, STACKS.length);
    const again = await evaluateStack("dev");
    assert.equal(String(one(again, BUCKET, () => true, "bucket").inputs.name).slice(-8), names[0]);
  });

  describe("the checks fail on a program missing the dependency", () => {
    it("no resource waiting for its APIs: every resource that needs an API is named", async () => {
      const plan = await variant("no-api-dependencies.ts");
      const problems = apiProblems(plan);
      const needing = plan.resources.filter((r) => r.custom && (requiredApis(r.type, r.inputs) ?? []).length > 0);
      assert.ok(needing.length > 50);
      assert.deepEqual(new Set(problems.map((p) => p.slice(0, p.indexOf(":")))), new Set(needing.map((r) => r.name)));
      assert.ok(problems.includes("firestore-default: does not wait for firestore.googleapis.com"), problems.join("\n"));
    });

    it("functions not waiting for their secret access: every function is named", async () => {
      const plan = await variant("function-without-secret-access.ts");
      assert.deepEqual(functionsNotWaitingFor(plan, secretAccessorOf(plan)).sort(), ofType(plan, T.function).map((f) => f.name).sort());
      assert.deepEqual(functionsNotWaitingFor(plan, databaseOf(plan)), []);
    });

    it("functions not waiting for the database: every function is named", async () => {
      const plan = await variant("function-without-database.ts");
      assert.deepEqual(functionsNotWaitingFor(plan, databaseOf(plan)).sort(), ofType(plan, T.function).map((f) => f.name).sort());
    });
  });
});

// Nothing the functions write grows forever: the program declares a Firestore TTL policy on expire_at
// for every collection group they write (on the stack's database, after it), and hands each function
// the stack's retention, from which the runtime computes that expire_at.
import assert from "node:assert/strict";
import { expiringCollections } from "../../functions/core/firestore-collections.ts";
import { EXPIRE_AT_FIELD, RETENTION_ENV_KEY, retentionFromEnv } from "../../functions/core/retention.ts";
import { parseStackConfig } from "../../infra/stack-config.ts";
import { readStackFiles } from "../../tools/plan/stack-files.ts";
import { ofType, planOf, ROOT, stackModel, STACKS, T } from "./helpers.ts";

const FIELD = "gcp:firestore/field:Field";
const DATABASE = "gcp:firestore/database:Database";
const obj = (v: unknown) => v as Record<string, unknown>;

describe("infra: Firestore TTL policies and per-stack retention", function () {
  this.timeout(300_000);

  for (const stack of STACKS) {
    it(`${stack}: one TTL policy on ${EXPIRE_AT_FIELD} per collection the functions write, on the stack's database`, async () => {
      const plan = await planOf(stack);
      const { config } = stackModel(stack);
      const fields = ofType(plan, FIELD);
      const expected = expiringCollections(config.firestoreCollectionPrefix).map((c) => c.name).sort();
      assert.deepEqual(fields.map((f) => String(f.inputs.collection)).sort(), expected);
      const databases = ofType(plan, DATABASE);
      assert.equal(databases.length, 1, "the stack declares its Firestore database");
      const database = databases[0]!;
      for (const f of fields) {
        assert.equal(f.inputs.field, EXPIRE_AT_FIELD);
        assert.deepEqual(f.inputs.ttlConfig, {}, "a TTL policy with no offset: the field holds the expiry itself");
        assert.deepEqual(f.inputs.indexConfig, {}, "the TTL timestamp is exempt from single-field indexes");
        assert.equal(f.inputs.project, config.project);
        // Each policy waits for the database (and through it for the Firestore API), and names it.
        assert.ok((f.dependencies ?? []).includes(database.urn!), `${f.name} depends on ${database.name}`);
        assert.equal(f.inputs.database, database.inputs.name);
      }
    });

    it(`${stack}: every function gets the stack's retention, and reads it back unchanged`, async () => {
      const plan = await planOf(stack);
      const { config } = stackModel(stack);
      const fns = ofType(plan, T.function);
      assert.ok(fns.length > 0);
      for (const fn of fns) {
        const env = obj(obj(fn.inputs.serviceConfig).environmentVariables);
        assert.deepEqual(retentionFromEnv({ [RETENTION_ENV_KEY]: String(env[RETENTION_ENV_KEY]) }), config.retention, fn.name);
      }
    });
  }

  it("stack config: retention has defaults, and a value outside its bounds fails naming the key", () => {
    const raw = readStackFiles(ROOT, "dev").config;
    assert.deepEqual(parseStackConfig(raw).retention, { quarantine: 30, bookkeeping: 35, phaseState: 35 });
    const bad = {
      ...raw,
      "phase-orchestration:retentionPhaseStateDays": "7",
      "phase-orchestration:retentionQuarantineDays": "0",
      "phase-orchestration:retentionBookkeepingDays": "soon",
    };
    assert.throws(
      () => parseStackConfig(bad),
      (error: Error) =>
        /retentionPhaseStateDays: must be >= 33/.test(error.message) &&
        /retentionQuarantineDays: must be >= 1/.test(error.message) &&
        /retentionBookkeepingDays: must be an integer/.test(error.message),
    );
    const longer = parseStackConfig({ ...raw, "phase-orchestration:retentionQuarantineDays": "90" });
    assert.equal(longer.retention.quarantine, 90);
  });
});

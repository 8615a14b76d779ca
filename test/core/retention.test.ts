// Retention of the Firestore documents the functions write: defaults, validation of the variable
// infra sets, and the expire_at each kind of document gets.
import assert from "node:assert/strict";
import { emptyPhaseState } from "../../functions/core/phase-state.ts";
import {
  EXPIRE_AT_FIELD,
  expireAt,
  RETENTION_DEFAULTS,
  RETENTION_ENV_KEY,
  retentionFromEnv,
  serializeRetention,
} from "../../functions/core/retention.ts";
import { expiringCollections } from "../../functions/core/firestore-collections.ts";

const DAY = 86_400_000;

describe("core/retention", () => {
  it("absent or empty variable: the defaults; a valid one round-trips", () => {
    assert.deepEqual(retentionFromEnv({}), RETENTION_DEFAULTS);
    assert.deepEqual(retentionFromEnv({ [RETENTION_ENV_KEY]: "" }), RETENTION_DEFAULTS);
    const custom = { quarantine: 90, bookkeeping: 40, phaseState: 60 };
    assert.deepEqual(retentionFromEnv({ [RETENTION_ENV_KEY]: serializeRetention(custom) }), custom);
    assert.deepEqual(retentionFromEnv({ [RETENTION_ENV_KEY]: '{"quarantine":7}' }), { ...RETENTION_DEFAULTS, quarantine: 7 });
  });

  it("an invalid variable is a start-up failure naming every problem, never a silent default", () => {
    assert.throws(() => retentionFromEnv({ [RETENTION_ENV_KEY]: "30" }), /must be an object/);
    assert.throws(() => retentionFromEnv({ [RETENTION_ENV_KEY]: "{" }), /FIRESTORE_RETENTION_DAYS: not JSON/);
    assert.throws(
      () => retentionFromEnv({ [RETENTION_ENV_KEY]: '{"quarantine":0,"phaseState":7,"bookkeeping":1.5,"forever":1}' }),
      (e: Error) =>
        /quarantine: must be between 1/.test(e.message) &&
        /phaseState: must be between 33/.test(e.message) &&
        /bookkeeping: must be a whole number/.test(e.message) &&
        /forever: unknown/.test(e.message),
    );
  });

  it("expire_at: `days` after the write; a phase-state document's counts from its game date, however often it is rewritten", () => {
    const now = new Date("2026-03-08T07:30:00Z");
    assert.equal(expireAt(now, 30).getTime(), now.getTime() + 30 * DAY);
    const doc = emptyPhaseState("phase2-to-phase3", "2026-03-07", "daily", now);
    assert.deepEqual(doc[EXPIRE_AT_FIELD], new Date("2026-04-11T00:00:00Z"));
    const later = emptyPhaseState("phase2-to-phase3", "2026-03-07", "daily", new Date("2026-03-20T00:00:00Z"), 40);
    assert.deepEqual(later[EXPIRE_AT_FIELD], new Date("2026-04-16T00:00:00Z"));
  });

  it("every collection the functions write has a retention, names are unique and prefixed", () => {
    const list = expiringCollections("dev_");
    assert.equal(new Set(list.map((c) => c.name)).size, list.length);
    for (const c of list) {
      assert.ok(c.name.startsWith("dev_"), c.name);
      assert.ok(c.retention in RETENTION_DEFAULTS, c.name);
    }
    assert.deepEqual(
      list.map((c) => c.name.slice(4)).sort(),
      ["consumed_triggers", "phase_state", "quarantine", "sweeper_publish_claims", "sweeper_stall_alerts", "unknown_processors"],
    );
  });
});

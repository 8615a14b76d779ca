// Contract tests: the completion messages today's processors publish (fixtures) are accepted and
// resolve to the right expected processor; bad messages report every error at once; the push
// envelope decodes or says why not; and between phases, every trigger an orchestrator can emit
// parses under the next phase's contract and carries what the downstream reader needs.
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import fc from "fast-check";
import {
  DEFAULT_MAX_MESSAGE_BYTES,
  decodePushEnvelope,
  parseCompletionForTransition,
  parseCompletionMessage,
} from "../../functions/core/contracts.ts";
import type { ContractError } from "../../functions/core/contracts.ts";
import { decide } from "../../functions/core/decision.ts";
import type { Decision, PhaseEntry } from "../../functions/core/decision-types.ts";
import { loadPipeline, transitionById } from "../../functions/core/pipeline.ts";
import { COMPLETION_STATUSES, RUN_MODES } from "../../functions/core/pipeline-types.ts";
import type { Transition } from "../../functions/core/pipeline-types.ts";
import {
  buildTriggerMessage,
  parseTriggerMessage,
  pythonIsoTimestamp,
  triggerAttributes,
  triggerIdFor,
} from "../../functions/core/trigger-message.ts";

const FIXTURES = new URL("../../tools/messages/fixtures/", import.meta.url);
const readJson = (name: string): unknown => JSON.parse(readFileSync(new URL(name, FIXTURES), "utf8"));

interface FixtureCase {
  case: string;
  expected: string | null;
  via: string | null;
  message: Record<string, unknown>;
}

const fixtureFiles = readdirSync(FIXTURES).filter((f) => /^phase\d.*\.json$/.test(f));
const fixtures: FixtureCase[] = fixtureFiles.flatMap((f) => readJson(f) as FixtureCase[]);
const pipeline = loadPipeline();
const transitionForPhase = (phase: unknown): Transition => {
  const t = pipeline.transitions.find((x) => x.phaseWireName === phase);
  assert.ok(t, `no transition reads phase ${String(phase)}`);
  return t;
};
const paths = (errors: readonly ContractError[]) => errors.map((e) => e.path);

// The aliases today's publishers use (docs/ARCHITECTURE.md, "Compatibility"), written down here on purpose
// (not read from the defaults): if the config drops one, this test fails.
const DESIGN_ALIASES: [string, string][] = [
  ["BigDataBallPbpProcessor", "p2_bigdataball_pbp"],
  ["BigdataballPbpProcessor", "p2_bigdataball_pbp"],
  ["OddsGameLinesProcessor", "p2_odds_game_lines"],
  ["OddsApiGameLinesProcessor", "p2_odds_game_lines"],
  ["OddsApiGameLinesBatchProcessor", "p2_odds_game_lines"],
  ["OddsApiPropsProcessor", "p2_odds_player_props"],
  ["OddsApiPropsBatchProcessor", "p2_odds_player_props"],
  ["NbacGamebookProcessor", "p2_nbacom_gamebook_pdf"],
  ["NbacGamebookPlayerStatsProcessor", "p2_nbacom_gamebook_pdf"],
  ["NbacPlayerBoxscoreProcessor", "p2_nbacom_boxscores"],
  ["NbacTeamBoxscoreProcessor", "p2_nbacom_boxscores"],
  ["TeamDefenseZoneAnalysisProcessor", "team_defense_zone_analysis"],
  ["PlayerShotZoneAnalysisProcessor", "player_shot_zone_analysis"],
  ["PlayerCompositeFactorsProcessor", "player_composite_factors"],
  ["PlayerDailyCacheProcessor", "player_daily_cache"],
  ["MLFeatureStoreProcessor", "ml_feature_store"],
  ["PredictionCoordinator", "prediction_coordinator"],
];

describe("completion message contract", () => {
  describe("fixtures: messages as today's processors publish them", () => {
    it("cover every phase and every alias in use today, plus the table ml_feature_store_v2", () => {
      const phases = new Set(fixtures.map((f) => f.message.phase));
      assert.deepEqual([...phases].sort(), ["phase_2_raw", "phase_3_analytics", "phase_4_precompute", "phase_5_predictions"]);
      for (const [alias, expected] of DESIGN_ALIASES) {
        const fixture = fixtures.find((f) => f.message.processor_name === alias);
        assert.ok(fixture, `no fixture publishes as ${alias}`);
        assert.equal(fixture.expected, expected, alias);
      }
      assert.ok(fixtures.some((f) => String(f.message.output_table).endsWith(".ml_feature_store_v2")));
    });

    it("are shaped like today's messages (docs/ARCHITECTURE.md, Compatibility)", () => {
      for (const { message: m, case: name } of fixtures) {
        assert.ok(!("attributes" in m), name);
        assert.match(String(m.timestamp), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00$/, name);
        if (m.output_table !== undefined) assert.match(String(m.output_table), /^nba_[a-z]+\.[a-z0-9_]+$/, name);
        if (m.phase === "phase_2_raw" || m.phase === "phase_4_precompute") assert.equal(String(m.execution_id).length, 8, name);
        if (m.phase === "phase_2_raw") assert.equal(m.status, "success", name);
        if (m.phase === "phase_3_analytics") assert.equal(m.correlation_id, m.execution_id, name);
      }
      const failed = fixtures.find((f) => f.message.phase === "phase_3_analytics" && f.message.status === "failed");
      assert.ok(failed && typeof failed.message.error_message === "string", "a failed phase 3 message with error_message");
      const coordinator = fixtures.find((f) => f.message.processor_name === "PredictionCoordinator");
      assert.match(String(coordinator?.message.execution_id), /^batch_\d{4}-\d\d-\d\d_\d+$/);
      assert.ok(fixtures.some((f) => Object.values((f.message.metadata ?? {}) as object).includes(null)), "nulls in metadata");
    });

    for (const f of fixtures) {
      it(`${f.message.phase} ${f.message.processor_name}: ${f.case}`, () => {
        const transition = transitionForPhase(f.message.phase);
        assert.ok(parseCompletionMessage(f.message).ok, "valid under the plain contract");
        const result = parseCompletionForTransition(transition, f.message);
        if (f.expected === null) {
          assert.ok(!result.ok);
          assert.deepEqual(result.errors.map((e) => e.code), ["unknown_processor"]);
          assert.match(result.errors[0]?.message ?? "", new RegExp(`unknown processor "${f.message.processor_name}" \\(tried name:`));
          return;
        }
        assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
        assert.equal(result.value.processor, f.expected);
        assert.equal(result.value.via, f.via);
        // Unknown extra keys and metadata nulls are kept, not stripped.
        for (const [key, value] of Object.entries(f.message)) {
          if (value !== null) assert.deepEqual((result.value.message as Record<string, unknown>)[key], value, key);
        }
        // Without the output table, the class name alone still resolves (alias or normalisation).
        const { output_table: _dropped, ...withoutTable } = f.message;
        const byName = parseCompletionForTransition(transition, withoutTable);
        assert.ok(byName.ok, JSON.stringify(!byName.ok && byName.errors));
        assert.equal(byName.value.processor, f.expected);
        assert.notEqual(byName.value.via, "output_table");
      });
    }

    it("top-level nulls count as absent", () => {
      const withNulls = fixtures.find((f) => f.case.includes("top-level nulls"));
      assert.ok(withNulls);
      const result = parseCompletionMessage(withNulls.message);
      assert.ok(result.ok);
      assert.ok(!("error_message" in result.value) && !("records_failed" in result.value));
    });

    it("a message of another phase is reported as such", () => {
      const phase3 = fixtures.find((f) => f.message.phase === "phase_3_analytics" && f.expected !== null);
      assert.ok(phase3);
      const result = parseCompletionForTransition(transitionById(pipeline, "phase4-to-phase5"), phase3.message);
      assert.ok(!result.ok);
      assert.ok(result.errors.some((e) => e.code === "wrong_phase" && e.path === "phase"));
    });
  });

  describe("metadata.completion_pct (the phase 5 coordinator's progress)", () => {
    const coordinator = (pct: unknown) => ({
      processor_name: "PredictionCoordinator",
      phase: "phase_5_predictions",
      execution_id: "batch-1",
      correlation_id: "corr-1",
      game_date: "2026-01-15",
      status: "success",
      timestamp: "2026-01-16T09:12:33.123456+00:00",
      metadata: { completion_pct: pct },
    });
    const pctOf = (pct: unknown): unknown => {
      const r = parseCompletionMessage(coordinator(pct));
      return r.ok ? r.value.metadata?.completion_pct : { errors: r.errors.map((e) => `${e.path}:${e.code ?? ""}`) };
    };

    it("accepts 0..100 inclusive: exactly 100 passes", () => {
      assert.equal(pctOf(100), 100);
      assert.equal(pctOf(0), 0);
      assert.deepEqual(pctOf(100.5), { errors: ["metadata.completion_pct:too_big"] });
    });

    it("reads numeric text as its number (\"95\" -> 95), range-checked like a number", () => {
      assert.equal(pctOf("95"), 95);
      assert.equal(pctOf(" 95.5 "), 95.5);
      assert.equal(pctOf("100"), 100);
      assert.deepEqual(pctOf("101"), { errors: ["metadata.completion_pct:too_big"] });
    });

    it("anything else non-numeric fails the contract (the message is quarantined, never read as 'no percentage')", () => {
      for (const bad of ["ninety-five", "95%", "", " ", "NaN", "0x5f", true, [95], { pct: 95 }]) {
        assert.deepEqual(pctOf(bad), { errors: ["metadata.completion_pct:invalid_type"] }, JSON.stringify(bad));
      }
    });

    it("property: a number in range and its decimal text parse to the same value", () => {
      fc.assert(
        fc.property(fc.double({ min: 0, max: 100, noNaN: true, noDefaultInfinity: true }), (pct) => {
          assert.equal(pctOf(String(pct)), pctOf(pct));
        }),
      );
    });
  });

  describe("bad messages", () => {
    it("report every field error at once", () => {
      const result = parseCompletionMessage({
        processor_name: "",
        phase: "phase_3_analytics",
        correlation_id: 7,
        game_date: "2026-02-30",
        status: "done",
        timestamp: "2026-01-16T09:12:33.123456",
        record_count: -1,
        metadata: { completion_pct: 120, is_incremental: "yes" },
      });
      assert.ok(!result.ok);
      assert.deepEqual(paths(result.errors).sort(), [
        "correlation_id",
        "execution_id",
        "game_date",
        "metadata.completion_pct",
        "metadata.is_incremental",
        "processor_name",
        "record_count",
        "status",
        "timestamp",
      ]);
      assert.equal(result.errors.find((e) => e.path === "execution_id")?.code, "required");
    });

    it("for a transition: contract errors, wrong phase and unknown processor together", () => {
      const result = parseCompletionForTransition(transitionById(pipeline, "phase3-to-phase4"), {
        processor_name: "PlayerGameSummaryProcessorV9",
        phase: "phase_2_raw",
        execution_id: "x",
        game_date: "2026-01-15",
        status: "success",
      });
      assert.ok(!result.ok);
      assert.deepEqual(
        result.errors.map((e) => `${e.path}:${e.code}`),
        ["correlation_id:required", "timestamp:required", "phase:wrong_phase", "processor_name:unknown_processor"],
      );
      assert.match(
        result.errors[3]?.message ?? "",
        /tried name:PlayerGameSummaryProcessorV9, alias:PlayerGameSummaryProcessorV9, normalised:player_game_summary_processor_v9/,
      );
    });

    it("not an object at all", () => {
      for (const raw of [null, "msg", 42, [1, 2]]) {
        const result = parseCompletionMessage(raw);
        assert.ok(!result.ok);
        assert.deepEqual(paths(result.errors), ["(root)"]);
      }
    });

    it("game_date must be a real calendar date", () => {
      const base = fixtures[0]?.message;
      for (const [date, ok] of [
        ["2024-02-29", true],
        ["2026-02-28", true],
        ["2026-02-29", false],
        ["2026-04-31", false],
        ["2026-13-01", false],
        ["2026-1-15", false],
        ["20260115", false],
        ["2026-01-15T00:00:00", false],
      ] as const) {
        assert.equal(parseCompletionMessage({ ...base, game_date: date }).ok, ok, date);
      }
    });

    it("timestamp must be ISO with an offset; any fraction", () => {
      const base = fixtures[0]?.message;
      for (const [ts, ok] of [
        ["2026-01-16T09:12:33.123456+00:00", true],
        ["2026-01-16T09:12:33+00:00", true],
        ["2026-01-16T04:12:33.123-05:00", true],
        ["2026-01-16T09:12:33.123Z", true],
        ["2026-01-16T09:12:33.123456", false],
        ["2026-01-16 09:12:33.123456+00:00", false],
        ["2026-01-16T09:12+00:00", false],
        ["1768554753", false],
      ] as const) {
        assert.equal(parseCompletionMessage({ ...base, timestamp: ts }).ok, ok, ts);
      }
    });

    it("status is one of the five", () => {
      const base = fixtures[0]?.message;
      for (const status of COMPLETION_STATUSES) assert.ok(parseCompletionMessage({ ...base, status }).ok, status);
      for (const status of ["SUCCESS", "done", "", "complete"]) assert.ok(!parseCompletionMessage({ ...base, status }).ok, status);
    });
  });

  describe("properties", () => {
    const gameDate = fc
      .date({ min: new Date("2000-01-01T00:00:00Z"), max: new Date("2099-12-31T00:00:00Z"), noInvalidDate: true })
      .map((d) => d.toISOString().slice(0, 10));
    const timestamp = fc
      .tuple(
        fc.date({ min: new Date("2000-01-01T00:00:00Z"), max: new Date("2099-12-31T00:00:00Z"), noInvalidDate: true }),
        fc.constantFrom("", ".1", ".123", ".123456"),
        fc.constantFrom("+00:00", "-05:00", "+05:30", "Z"),
      )
      .map(([d, fraction, offset]) => `${d.toISOString().slice(0, 19)}${fraction}${offset}`);
    const id = fc.stringMatching(/^[A-Za-z0-9_-]{1,40}$/);
    const jsonScalar = fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null));
    const validMessage = fc
      .record({
        processor_name: id,
        phase: fc.constantFrom("phase_2_raw", "phase_3_analytics", "phase_4_precompute", "phase_5_predictions"),
        execution_id: id,
        correlation_id: id,
        game_date: gameDate,
        status: fc.constantFrom(...COMPLETION_STATUSES),
        timestamp,
      })
      .chain((required) =>
        fc
          .record(
            {
              record_count: fc.oneof(fc.nat(), fc.constant(null)),
              records_failed: fc.nat(),
              duration_seconds: fc.double({ min: 0, max: 1e5, noNaN: true }),
              output_table: fc.string(),
              error_message: fc.oneof(fc.string(), fc.constant(null)),
              metadata: fc.record(
                {
                  completion_pct: fc.oneof(fc.double({ min: 0, max: 100, noNaN: true }), fc.constant(null)),
                  is_incremental: fc.oneof(fc.boolean(), fc.constant(null)),
                  entities_changed: fc.oneof(fc.array(fc.string()), fc.constant(null)),
                  other: jsonScalar,
                },
                { requiredKeys: [] },
              ),
              x_extra: jsonScalar,
            },
            { requiredKeys: [] },
          )
          .map((optional) => ({ ...required, ...optional })),
      );

    it("every generated valid message parses, extra keys kept", () => {
      fc.assert(
        fc.property(validMessage, (m) => {
          const result = parseCompletionMessage(m);
          assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
          if (m.x_extra !== undefined && m.x_extra !== null) assert.deepEqual(result.value.x_extra, m.x_extra);
        }),
      );
    });

    const badValues: Record<string, unknown[]> = {
      processor_name: ["", 42, ["PlayerGameSummaryProcessor"]],
      phase: ["", 3],
      execution_id: ["", 12345678],
      correlation_id: ["", {}],
      game_date: ["2026-02-30", "15/01/2026", "2026-01-15T00:00:00Z", 20260115],
      status: ["done", "Success", true],
      timestamp: ["2026-01-16T09:12:33.123456", "yesterday", 1768554753],
    };
    const REQUIRED = Object.keys(badValues);

    it("a required field removed or broken: the error names that field (and only it)", () => {
      const mutation = fc.constantFrom(...REQUIRED).chain((field) =>
        fc.tuple(fc.constant(field), fc.oneof(fc.constant({ remove: true as const }), fc.constantFrom(...(badValues[field] ?? [])).map((value) => ({ value })))),
      );
      fc.assert(
        fc.property(validMessage, mutation, (m, [field, change]) => {
          const broken: Record<string, unknown> = { ...m };
          if ("remove" in change) delete broken[field];
          else broken[field] = change.value;
          const result = parseCompletionMessage(broken);
          assert.ok(!result.ok, `${field} ${JSON.stringify(change)} accepted`);
          assert.deepEqual(paths(result.errors), [field]);
          if ("remove" in change) assert.equal(result.errors[0]?.code, "required");
        }),
      );
    });
  });
});

describe("Pub/Sub push envelope", () => {
  const envelopeOf = (data: string | undefined, extra: Record<string, unknown> = {}) => ({
    message: { ...(data === undefined ? {} : { data }), messageId: "m-1", publishTime: "2026-01-16T06:12:33.456Z", ...extra },
    subscription: "projects/p/subscriptions/s",
  });
  const b64 = (s: string | Uint8Array) => Buffer.from(s).toString("base64");
  const codes = (r: ReturnType<typeof decodePushEnvelope>) => (r.ok ? [] : r.errors.map((e) => e.code));

  it("the fixture envelope (no attributes) decodes to a phase 2 message that resolves", () => {
    const result = decodePushEnvelope(readJson("push-envelope.json"));
    assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
    assert.deepEqual(result.value.attributes, {});
    assert.equal(result.value.messageId, "13712346521180987");
    assert.equal(result.value.deliveryAttempt, 1);
    const completion = parseCompletionForTransition(transitionById(pipeline, "phase2-to-phase3"), result.value.data);
    assert.ok(completion.ok);
    assert.equal(completion.value.processor, "p2_bigdataball_pbp");
  });

  it("carries attributes when there are some; deliveryAttempt null without a dead-letter policy", () => {
    const result = decodePushEnvelope(envelopeOf(b64("{}"), { attributes: { a: "b" } }));
    assert.ok(result.ok);
    assert.deepEqual(result.value.attributes, { a: "b" });
    assert.equal(result.value.deliveryAttempt, null);
  });

  it("missing data", () => {
    assert.deepEqual(codes(decodePushEnvelope(envelopeOf(undefined))), ["missing_data"]);
    assert.deepEqual(codes(decodePushEnvelope(envelopeOf(""))), ["missing_data"]);
  });

  it("bad base64", () => {
    for (const data of ["not base64!", "abc", "ab=c", "eyJ9\n"]) {
      const result = decodePushEnvelope(envelopeOf(data));
      assert.deepEqual(codes(result), ["bad_base64"], data);
      assert.equal(!result.ok && result.messageId, "m-1");
    }
  });

  it("bad UTF-8", () => {
    assert.deepEqual(codes(decodePushEnvelope(envelopeOf(b64(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]))))), ["bad_utf8"]);
  });

  it("bad JSON", () => {
    const result = decodePushEnvelope(envelopeOf(b64('{"processor_name": ')));
    assert.deepEqual(codes(result), ["bad_json"]);
  });

  it("oversize: the limit is configurable and exact; the default is 256 KiB", () => {
    const body = JSON.stringify({ pad: "x".repeat(100) });
    assert.ok(decodePushEnvelope(envelopeOf(b64(body)), { maxBytes: body.length }).ok);
    assert.deepEqual(codes(decodePushEnvelope(envelopeOf(b64(body)), { maxBytes: body.length - 1 })), ["oversize"]);
    assert.equal(DEFAULT_MAX_MESSAGE_BYTES, 256 * 1024);
    const big = JSON.stringify({ pad: "x".repeat(DEFAULT_MAX_MESSAGE_BYTES) });
    assert.deepEqual(codes(decodePushEnvelope(envelopeOf(b64(big)))), ["oversize"]);
  });

  it("not an envelope", () => {
    for (const body of [null, "x", {}, { message: "x", subscription: "s" }, { message: { data: b64("{}") } }]) {
      const result = decodePushEnvelope(body);
      assert.ok(!result.ok, JSON.stringify(body));
      assert.ok(codes(result).includes("bad_envelope"), JSON.stringify(body));
    }
  });

  it("any JSON value round-trips through an envelope (property)", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const text = JSON.stringify(value);
        const result = decodePushEnvelope(envelopeOf(b64(text)));
        assert.ok(result.ok);
        assert.equal(JSON.stringify(result.value.data), text);
        assert.equal(result.value.bytes, Buffer.byteLength(text));
      }),
    );
  });
});

describe("trigger contract between phases", () => {
  // What each downstream service reads from its trigger, from docs/ARCHITECTURE.md "Compatibility", plus our
  // own fields every trigger carries. Written here as data on purpose.
  const OUR_FIELDS = [
    "game_date",
    "correlation_id",
    "trigger_id",
    "triggered_by",
    "trigger_reason",
    "mode",
    "upstream_processors_count",
    "expected_processors",
    "timestamp",
  ];
  const READER_NEEDS: Record<string, string[]> = {
    "phase2-to-phase3": ["game_date", "correlation_id"],
    "phase3-to-phase4": ["game_date", "analysis_date", "correlation_id"],
    "phase4-to-phase5": ["game_date", "correlation_id", "trigger_source"],
    "phase5-to-phase6": ["export_types", "target_date", "update_latest", "correlation_id", "upstream_batch_id", "upstream_predictions"],
  };
  const GAME_DATE = "2026-01-15";
  const NOW = new Date("2026-01-16T09:12:33.123Z");
  const UPSTREAM = { batchId: "batch_2026-01-15_1768468800", completedPredictions: 2150, completionPct: 98.4 };

  /** Every decision shape a transition's rule can emit, by reason and mode (hand-built). */
  function firingDecisions(t: Transition): Decision[] {
    const all = t.processors.map((p) => p.name).sort();
    const base = (mode: (typeof RUN_MODES)[number]) => ({
      trigger: true,
      mode,
      latchMode: t.rule.kind === "mode_aware" ? mode : ("daily" as const),
    });
    const split = (expected: string[], complete: string[]) => ({
      expected: [...expected].sort(),
      complete: [...complete].sort(),
      missing: expected.filter((p) => !complete.includes(p)).sort(),
    });
    const out: Decision[] = [];
    for (const mode of RUN_MODES) {
      const rule = t.rule;
      switch (rule.kind) {
        case "all_complete":
          out.push({ ...base(mode), reason: "all_complete", ...split(all, all), degraded: false });
          out.push({ ...base(mode), reason: "deadline_critical_complete", ...split(all, rule.deadline.critical), degraded: true });
          break;
        case "mode_aware": {
          const sets = rule.modes[mode];
          out.push({ ...base(mode), reason: "all_complete", ...split(sets.expected, sets.expected), degraded: false });
          const pool = [...sets.critical, ...sets.optional];
          const complete = [...sets.critical];
          for (const o of sets.optional) if ((complete.length * 100) / pool.length < rule.majorityPct) complete.push(o);
          const pct = Math.floor((complete.length * 100) / pool.length);
          out.push({ ...base(mode), reason: `critical_plus_majority_${pct}pct`, ...split(sets.expected, complete), degraded: true });
          break;
        }
        case "tiered":
          out.push({ ...base(mode), reason: "all_complete", ...split(all, all), degraded: false });
          rule.tiers.forEach((tier, i) => {
            const complete = all.slice(0, tier.minComplete);
            out.push({
              ...base(mode),
              reason: `tier_${i + 1}_${tier.afterMinutes}min_${tier.minComplete}of${all.length}`,
              tier: i + 1,
              ...split(all, complete),
              degraded: true,
            });
          });
          break;
        case "completion_pct":
          out.push({ ...base(mode), reason: "completion_pct_98", ...split([rule.processor], [rule.processor]), degraded: false });
          break;
      }
    }
    return out;
  }

  function checkTrigger(t: Transition, decision: Decision, correlationId: string) {
    const triggerId = triggerIdFor(t.id, GAME_DATE, decision.latchMode);
    const message = buildTriggerMessage(t, decision, { gameDate: GAME_DATE, correlationId, triggerId, now: NOW, upstream: UPSTREAM });
    // Through JSON, as it travels.
    const wire = JSON.parse(JSON.stringify(message)) as Record<string, unknown>;
    const parsed = parseTriggerMessage(t, wire);
    assert.ok(parsed.ok, JSON.stringify(!parsed.ok && parsed.errors));
    for (const field of new Set([...OUR_FIELDS, ...(READER_NEEDS[t.id] ?? [])])) {
      assert.ok(field in wire, `${t.id} trigger lacks ${field}`);
    }
    assert.equal(wire.game_date, GAME_DATE);
    assert.equal(wire.correlation_id, correlationId);
    assert.equal(wire.trigger_id, triggerId);
    assert.equal(wire.triggered_by, t.functionName);
    assert.equal(wire.trigger_reason, decision.reason);
    assert.equal(wire.mode, decision.mode);
    assert.equal(wire.upstream_processors_count, decision.complete.length);
    assert.deepEqual(wire.expected_processors, decision.expected);
    assert.equal(wire.timestamp, "2026-01-16T09:12:33.123000+00:00");
    if (decision.degraded) assert.deepEqual(wire.missing_processors, decision.missing);
    else assert.ok(!("missing_processors" in wire));
    return wire;
  }

  it("every transition has a list of reader needs", () => {
    assert.deepEqual(Object.keys(READER_NEEDS).sort(), pipeline.transitions.map((t) => t.id).sort());
  });

  for (const t of pipeline.transitions) {
    describe(t.id, () => {
      it("every decision shape builds a trigger that parses and carries what the reader needs", () => {
        const decisions = firingDecisions(t);
        assert.ok(decisions.length >= 3);
        for (const d of decisions) checkTrigger(t, d, "corr-8d2f1a4c");
      });

      it("reader-specific values", () => {
        const [decision] = firingDecisions(t);
        assert.ok(decision);
        const wire = checkTrigger(t, decision, "corr-1");
        if (t.toPhase === 4) assert.equal(wire.analysis_date, GAME_DATE);
        if (t.toPhase === 5) assert.equal(wire.trigger_source, "orchestrator");
        if (t.toPhase === 6) {
          assert.deepEqual(wire.export_types, ["predictions", "best-bets", "player-profiles", "tonight-players"]);
          assert.equal(wire.target_date, GAME_DATE);
          assert.equal(wire.update_latest, true);
          assert.equal(wire.upstream_batch_id, UPSTREAM.batchId);
          assert.equal(wire.upstream_predictions, UPSTREAM.completedPredictions);
          assert.equal(wire.upstream_completion_pct, UPSTREAM.completionPct);
        }
      });

      it("a trigger missing any field the reader needs is rejected, naming it", () => {
        const [decision] = firingDecisions(t);
        assert.ok(decision);
        const wire = checkTrigger(t, decision, "corr-1");
        for (const field of new Set([...OUR_FIELDS, ...(READER_NEEDS[t.id] ?? [])])) {
          const { [field]: _removed, ...rest } = wire;
          const result = parseTriggerMessage(t, rest);
          assert.ok(!result.ok, `${t.id} accepts a trigger without ${field}`);
          assert.ok(paths(result.errors).includes(field), `${field}: ${JSON.stringify(result.errors)}`);
        }
      });

      it("decisions from the real decision rules, for generated completions, build valid triggers (property)", () => {
        const names = [...t.processors.map((p) => p.name), "not_expected_here"];
        const entry = fc.record({
          processor: fc.constantFrom(...names),
          status: fc.constantFrom(...COMPLETION_STATUSES),
          minutesAgo: fc.integer({ min: 0, max: 600 }),
          completionPct: fc.double({ min: 0, max: 100, noNaN: true }),
        });
        const gameDate = fc.constantFrom("2026-01-14", "2026-01-15", "2026-01-16", "2026-01-17");
        fc.assert(
          fc.property(fc.array(entry, { maxLength: 8 }), gameDate, fc.integer({ min: 0, max: 600 }), (generated, date, firstAgo) => {
            const now = new Date("2026-01-16T15:00:00Z");
            const at = (m: number) => new Date(now.getTime() - m * 60_000).toISOString();
            const entries: Record<string, PhaseEntry> = {};
            for (const g of generated) {
              entries[g.processor] = {
                processor: g.processor,
                status: g.status,
                completedAt: at(g.minutesAgo),
                recordedAt: at(g.minutesAgo),
                completionPct: g.completionPct,
              };
            }
            const decision = decide({ transition: t, gameDate: date, now, entries, firstCompletionAt: at(firstAgo), timeZone: pipeline.timeZone });
            if (!decision.trigger) {
              assert.throws(() =>
                buildTriggerMessage(t, decision, { gameDate: date, correlationId: "c", triggerId: "x", now }),
              );
              return;
            }
            const message = buildTriggerMessage(t, decision, {
              gameDate: date,
              correlationId: "c-1",
              triggerId: triggerIdFor(t.id, date, decision.latchMode),
              now,
              upstream: UPSTREAM,
            });
            const parsed = parseTriggerMessage(t, JSON.parse(JSON.stringify(message)));
            assert.ok(parsed.ok, JSON.stringify(!parsed.ok && parsed.errors));
          }),
          { numRuns: 200 },
        );
      });
    });
  }

  it("arbitrary firing decisions build valid triggers for every transition (property)", () => {
    const decision = fc.record({
      reason: fc.stringMatching(/^[a-z0-9_]{1,40}$/),
      mode: fc.constantFrom(...RUN_MODES),
      expected: fc.array(fc.stringMatching(/^[a-z_]{1,20}$/), { maxLength: 6 }),
      complete: fc.array(fc.stringMatching(/^[a-z_]{1,20}$/), { maxLength: 6 }),
      missing: fc.array(fc.stringMatching(/^[a-z_]{1,20}$/), { maxLength: 6 }),
      degraded: fc.boolean(),
      daily: fc.boolean(),
    });
    fc.assert(
      fc.property(fc.constantFrom(...pipeline.transitions), decision, fc.uuid(), (t, d, correlationId) => {
        const { daily, ...rest } = d;
        checkTrigger(t, { ...rest, trigger: true, latchMode: daily ? "daily" : d.mode }, correlationId);
      }),
    );
  });

  it("a decision that does not fire builds no trigger", () => {
    const t = transitionById(pipeline, "phase3-to-phase4");
    const waiting: Decision = {
      trigger: false,
      reason: "waiting",
      mode: "overnight",
      latchMode: "overnight",
      expected: ["a"],
      complete: [],
      missing: ["a"],
      degraded: false,
    };
    assert.throws(
      () => buildTriggerMessage(t, waiting, { gameDate: GAME_DATE, correlationId: "c", triggerId: "x", now: NOW }),
      /does not fire/,
    );
  });

  it("the exporter's trigger needs a rule that names export types", () => {
    const t = transitionById(pipeline, "phase5-to-phase6");
    const odd = { ...t, rule: { kind: "tiered" as const, tiers: [] } };
    const [decision] = firingDecisions(t);
    assert.ok(decision);
    assert.throws(
      () => buildTriggerMessage(odd, decision, { gameDate: GAME_DATE, correlationId: "c", triggerId: "x", now: NOW }),
      /export_types/,
    );
  });

  it("the exporter's upstream fields are null, not absent, when unknown", () => {
    const t = transitionById(pipeline, "phase5-to-phase6");
    const [decision] = firingDecisions(t);
    assert.ok(decision);
    const message = buildTriggerMessage(t, decision, { gameDate: GAME_DATE, correlationId: "c", triggerId: "x", now: NOW });
    assert.equal(message.upstream_batch_id, null);
    assert.equal(message.upstream_predictions, null);
    assert.ok(parseTriggerMessage(t, message).ok);
  });

  it("dates the reader reads must equal game_date; triggered_by must be the transition's function", () => {
    const t4 = transitionById(pipeline, "phase3-to-phase4");
    const [d4] = firingDecisions(t4);
    assert.ok(d4);
    const wire = checkTrigger(t4, d4, "c");
    const bad = parseTriggerMessage(t4, { ...wire, analysis_date: "2026-01-14", triggered_by: "someone-else" });
    assert.ok(!bad.ok);
    assert.deepEqual(paths(bad.errors).sort(), ["analysis_date", "triggered_by"]);
  });

  it("trigger ids are deterministic, readable and separate same-day from overnight", () => {
    assert.equal(triggerIdFor("phase3-to-phase4", "2026-01-15", "overnight"), "phase3-to-phase4:2026-01-15:overnight");
    assert.equal(triggerIdFor("phase3-to-phase4", "2026-01-15", "overnight"), triggerIdFor("phase3-to-phase4", "2026-01-15", "overnight"));
    assert.notEqual(triggerIdFor("phase3-to-phase4", "2026-01-15", "same_day"), triggerIdFor("phase3-to-phase4", "2026-01-15", "overnight"));
    assert.equal(triggerIdFor("phase2-to-phase3", "2026-01-15", "daily"), "phase2-to-phase3:2026-01-15:daily");
  });

  it("attributes carry the trigger id for de-duplication", () => {
    const t = transitionById(pipeline, "phase2-to-phase3");
    const [decision] = firingDecisions(t);
    assert.ok(decision);
    const message = buildTriggerMessage(t, decision, { gameDate: GAME_DATE, correlationId: "c-9", triggerId: "tid", now: NOW });
    assert.deepEqual(triggerAttributes(message), { trigger_id: "tid", correlation_id: "c-9", game_date: GAME_DATE });
  });

  it("timestamps use the publishers' format (microseconds, +00:00)", () => {
    assert.equal(pythonIsoTimestamp(new Date("2026-03-08T07:00:00.000Z")), "2026-03-08T07:00:00.000000+00:00");
    fc.assert(
      fc.property(fc.date({ min: new Date("2000-01-01T00:00:00Z"), max: new Date("2099-12-31T00:00:00Z"), noInvalidDate: true }), (d) => {
        const ts = pythonIsoTimestamp(d);
        assert.match(ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/);
        assert.equal(new Date(ts).getTime(), d.getTime());
      }),
    );
  });
});

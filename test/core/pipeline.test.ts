// The pipeline model: defaults valid, each kind of problem named at its path, overrides, and the
// PIPELINE_CONFIG round trip.
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  PIPELINE_CONFIG_ENV,
  PipelineConfigError,
  applyPipelineOverrides,
  loadPipeline,
  parsePipelineConfig,
  pipelineFromEnv,
  resolvePipeline,
  serializePipeline,
  transitionById,
  validatePipelineConfig,
} from "../../functions/core/pipeline.ts";
import { DEFAULT_PIPELINE } from "../../functions/core/pipeline-defaults.ts";
import type { PipelineConfig } from "../../functions/core/pipeline-types.ts";

/** A mutable deep copy of the defaults, loosely typed so tests can break it in any way. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Loose = any;
const defaults = (): Loose => structuredClone(DEFAULT_PIPELINE);

function expectThrows(fn: () => unknown): PipelineConfigError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof PipelineConfigError, `expected PipelineConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail("expected a PipelineConfigError");
}

describe("pipeline model", () => {
  describe("defaults", () => {
    it("the embedded defaults are valid", () => {
      assert.deepEqual(validatePipelineConfig(DEFAULT_PIPELINE), []);
    });

    it("resolves the existing system's topic, dead-letter and function names", () => {
      const pipeline = loadPipeline();
      // The existing system's names (docs/ARCHITECTURE.md, "Compatibility"), written out on purpose.
      const expected = [
        ["phase2-to-phase3-orchestrator", "nba-phase2-raw-complete", "nba-phase3-trigger"],
        ["phase3-to-phase4-orchestrator", "nba-phase3-analytics-complete", "nba-phase4-trigger"],
        ["phase4-to-phase5-orchestrator", "nba-phase4-precompute-complete", "nba-predictions-trigger"],
        ["phase5-to-phase6-orchestrator", "nba-phase5-predictions-complete", "nba-phase6-export-trigger"],
      ];
      assert.deepEqual(
        pipeline.transitions.map((t) => [t.functionName, t.inputTopicName, t.outputTopicName]),
        expected,
      );
      for (const t of pipeline.transitions) {
        assert.equal(t.deadLetterTopicName, `${t.inputTopicName}-dlq`);
        assert.equal(t.deadLetterSubscriptionName, `${t.inputTopicName}-dlq-sub`);
      }
      assert.equal(pipeline.timeZone, "America/New_York");
    });

    it("resolvePipeline copies: changing the result does not change the defaults", () => {
      const before = JSON.stringify(DEFAULT_PIPELINE);
      const pipeline = resolvePipeline(DEFAULT_PIPELINE);
      pipeline.transitions[0]?.processors.pop();
      pipeline.transitions[0]?.processors[0]?.aliases.push("X");
      assert.equal(JSON.stringify(DEFAULT_PIPELINE), before);
    });

    it("any valid sport prefixes every topic (property)", () => {
      const sport = fc.stringMatching(/^[a-z][a-z0-9]{0,11}$/).filter((s) => !s.startsWith("goog"));
      fc.assert(
        fc.property(sport, (s) => {
          const pipeline = loadPipeline({ sport: s });
          for (const [i, t] of pipeline.transitions.entries()) {
            const base = DEFAULT_PIPELINE.transitions[i];
            assert.equal(t.inputTopicName, `${s}-${base?.inputTopic}`);
            assert.equal(t.outputTopicName, `${s}-${base?.outputTopic}`);
          }
        }),
      );
    });
  });

  describe("each kind of problem is named at its path", () => {
    interface Case {
      name: string;
      mutate: (c: Loose) => void;
      path: string;
      message: RegExp;
      /** How many problems the mutation causes in total (default 1): no spurious ones. */
      total?: number;
    }
    const cases: Case[] = [
      {
        name: "unknown processor in a mode's critical set",
        mutate: (c) => (c.transitions[1].rule.modes.overnight.critical[0] = "foo"),
        path: "transitions[1].rule.modes.overnight.critical[0]",
        message: /unknown processor "foo"/,
      },
      {
        name: "unknown processor in a mode's optional set",
        mutate: (c) => (c.transitions[1].rule.modes.same_day.optional[0] = "bar"),
        path: "transitions[1].rule.modes.same_day.optional[0]",
        message: /unknown processor "bar"/,
      },
      {
        name: "unknown processor in a mode's expected set",
        mutate: (c) => c.transitions[1].rule.modes.tomorrow.expected.push("baz"),
        path: "transitions[1].rule.modes.tomorrow.expected[2]",
        message: /unknown processor "baz"/,
      },
      {
        name: "unknown processor in the deadline's critical set",
        mutate: (c) => (c.transitions[0].rule.deadline.critical[1] = "p2_nope"),
        path: "transitions[0].rule.deadline.critical[1]",
        message: /unknown processor "p2_nope"/,
      },
      {
        name: "unknown completion_pct processor",
        mutate: (c) => (c.transitions[3].rule.processor = "coordinator"),
        path: "transitions[3].rule.processor",
        message: /unknown processor "coordinator"/,
      },
      {
        name: "the same processor twice in a set",
        mutate: (c) => c.transitions[1].rule.modes.overnight.critical.push("player_game_summary"),
        path: "transitions[1].rule.modes.overnight.critical[2]",
        message: /duplicate processor "player_game_summary"/,
      },
      {
        name: "tier needs more processors than exist",
        mutate: (c) => (c.transitions[2].rule.tiers[0].minComplete = 6),
        path: "transitions[2].rule.tiers[0].minComplete",
        message: /6 can never fire.*between 1 and 5/,
      },
      {
        name: "tier minComplete of 0",
        mutate: (c) => (c.transitions[2].rule.tiers[2].minComplete = 0),
        path: "transitions[2].rule.tiers[2].minComplete",
        message: /can never fire/,
      },
      {
        name: "tiers not increasing in time",
        mutate: (c) => (c.transitions[2].rule.tiers[1].afterMinutes = 60),
        path: "transitions[2].rule.tiers[1].afterMinutes",
        message: /not after the previous tier's 60/,
      },
      {
        name: "a later tier stricter than an earlier one",
        mutate: (c) => (c.transitions[2].rule.tiers[1].minComplete = 5),
        path: "transitions[2].rule.tiers[1].minComplete",
        message: /stricter than the previous tier's 4/,
      },
      {
        name: "majorityPct above 100",
        mutate: (c) => (c.transitions[1].rule.majorityPct = 101),
        path: "transitions[1].rule.majorityPct",
        message: /101 must be > 0 and <= 100/,
      },
      {
        name: "majorityPct of 0",
        mutate: (c) => (c.transitions[1].rule.majorityPct = 0),
        path: "transitions[1].rule.majorityPct",
        message: /must be > 0/,
      },
      {
        name: "minPct above 100",
        mutate: (c) => (c.transitions[3].rule.minPct = 100.5),
        path: "transitions[3].rule.minPct",
        message: /can never be reached/,
      },
      {
        name: "no export types",
        mutate: (c) => (c.transitions[3].rule.exportTypes = []),
        path: "transitions[3].rule.exportTypes",
        message: /at least one export type/,
      },
      {
        name: "critical not a subset of expected",
        mutate: (c) => c.transitions[1].rule.modes.same_day.critical.push("player_game_summary"),
        path: "transitions[1].rule.modes.same_day.critical[1]",
        message: /not in this mode's expected set/,
      },
      {
        name: "optional not a subset of expected",
        mutate: (c) => c.transitions[1].rule.modes.tomorrow.optional.push("team_offense_game_summary"),
        path: "transitions[1].rule.modes.tomorrow.optional[1]",
        message: /not in this mode's expected set/,
      },
      {
        name: "critical and optional at once",
        mutate: (c) => c.transitions[1].rule.modes.tomorrow.optional.push("upcoming_player_game_context"),
        path: "transitions[1].rule.modes.tomorrow.optional[1]",
        message: /both critical and optional/,
      },
      {
        name: "a mode with an empty expected set",
        mutate: (c) => (c.transitions[1].rule.modes.tomorrow = { expected: [], critical: [], optional: [] }),
        path: "transitions[1].rule.modes.tomorrow.expected",
        message: /expected set is empty/,
      },
      {
        name: "an enabled deadline with no critical processor",
        mutate: (c) => (c.transitions[0].rule.deadline = { enabled: true, afterFirstCompletionMinutes: 30, critical: [] }),
        path: "transitions[0].rule.deadline.critical",
        message: /needs at least one critical processor/,
      },
      {
        name: "duplicate input topic",
        mutate: (c) => (c.transitions[1].inputTopic = "phase2-raw-complete"),
        path: "transitions[1].inputTopic",
        message: /duplicate topic "nba-phase2-raw-complete": already the input topic of transitions\[0\]/,
      },
      {
        name: "duplicate output topic",
        mutate: (c) => (c.transitions[3].outputTopic = "predictions-trigger"),
        path: "transitions[3].outputTopic",
        message: /duplicate topic "nba-predictions-trigger": already the output topic of transitions\[2\]/,
      },
      {
        name: "output topic equal to its own input",
        mutate: (c) => (c.transitions[2].outputTopic = "phase4-precompute-complete"),
        path: "transitions[2].outputTopic",
        message: /equals its own input topic/,
      },
      {
        name: "output topic feeding an earlier phase",
        mutate: (c) => (c.transitions[3].outputTopic = "phase3-analytics-complete"),
        path: "transitions[3].outputTopic",
        message: /input of an earlier phase \(transitions\[1\], phase 3\)/,
      },
      {
        name: "a configured topic that is another topic's dead-letter topic",
        mutate: (c) => (c.transitions[3].outputTopic = "phase2-raw-complete-dlq"),
        path: "transitions[0].inputTopic",
        message: /dead-letter topic is also a configured topic/,
      },
      {
        name: "an invalid Pub/Sub topic name",
        mutate: (c) => (c.transitions[0].inputTopic = "phase2 raw complete"),
        path: "transitions[0].inputTopic",
        message: /not a valid Pub\/Sub name/,
      },
      {
        name: "a topic name too long once the derived suffixes are added (the longest is named)",
        mutate: (c) => (c.transitions[0].inputTopic = "x".repeat(248)),
        path: "transitions[0].inputTopic",
        message: /-push-sub" is not a valid Pub\/Sub name/,
      },
      {
        // 255 characters with "-dlq-sub", 256 with "-push-sub": infra would refuse the push subscription.
        name: "an input topic whose push subscription name is too long",
        mutate: (c) => (c.transitions[0].inputTopic = "x".repeat(243)),
        path: "transitions[0].inputTopic",
        message: /-push-sub" is not a valid Pub\/Sub name/,
      },
      {
        // 254 characters with "-tap", 257 with "-shadow": a shadow stack could not declare its topic.
        name: "an output topic whose shadow topic name is too long",
        mutate: (c) => (c.transitions[3].outputTopic = "x".repeat(246)),
        path: "transitions[3].outputTopic",
        message: /-shadow" is not a valid Pub\/Sub name/,
      },
      {
        name: "a function name with no room for the shadow suffix",
        mutate: (c) => (c.transitions[0].functionName = `f${"a".repeat(42)}`),
        path: "transitions[0].functionName",
        message: /no room for the "-shadow" suffix/,
      },
      {
        name: "duplicate function name",
        mutate: (c) => (c.transitions[2].functionName = "phase2-to-phase3-orchestrator"),
        path: "transitions[2].functionName",
        message: /duplicate function name "phase2-to-phase3-orchestrator" \(also at \[0\]\)/,
      },
      {
        name: "invalid function name",
        mutate: (c) => (c.transitions[2].functionName = "Phase4_Orchestrator"),
        path: "transitions[2].functionName",
        message: /not a valid function name/,
      },
      {
        name: "duplicate transition id",
        mutate: (c) => (c.transitions[1].id = "phase2-to-phase3"),
        path: "transitions[1].id",
        message: /duplicate transition id "phase2-to-phase3"/,
      },
      {
        name: "duplicate phase wire name",
        mutate: (c) => (c.transitions[2].phaseWireName = "phase_3_analytics"),
        path: "transitions[2].phaseWireName",
        message: /duplicate phase wire name/,
      },
      {
        name: "duplicate processor name within a transition",
        mutate: (c) => (c.transitions[2].processors[1].name = "team_defense_zone_analysis"),
        path: "transitions[2].processors[1].name",
        message: /duplicate processor name or alias "team_defense_zone_analysis" \(already at transitions\[2\]\.processors\[0\]\.name\)/,
        // player_shot_zone_analysis disappears from the processors, so nothing else refers to it.
      },
      {
        name: "the same alias on two processors",
        mutate: (c) => c.transitions[0].processors[4].aliases.push("OddsApiPropsProcessor"),
        path: "transitions[0].processors[4].aliases[2]",
        message: /duplicate processor name or alias "OddsApiPropsProcessor" \(already at transitions\[0\]\.processors\[2\]\.aliases\[0\]\)/,
      },
      {
        name: "an alias equal to another processor's name",
        mutate: (c) => c.transitions[2].processors[0].aliases.push("ml_feature_store"),
        path: "transitions[2].processors[0].aliases[1]",
        message: /duplicate processor name or alias "ml_feature_store"/,
      },
      {
        name: "the same output table on two processors",
        mutate: (c) => c.transitions[2].processors[3].outputTables.push("ml_feature_store_v2"),
        path: "transitions[2].processors[4].outputTables[0]",
        message: /duplicate output table "ml_feature_store_v2" \(already at transitions\[2\]\.processors\[3\]\.outputTables\[1\]\)/,
      },
      {
        name: "a processor name that cannot be a Firestore field key",
        mutate: (c) => {
          c.transitions[3].processors[0].name = "prediction.coordinator";
          c.transitions[3].rule.processor = "prediction.coordinator";
        },
        path: "transitions[3].processors[0].name",
        message: /letters, digits and _/,
      },
      {
        name: "a cycle in the phases",
        mutate: (c) => (c.transitions[2].toPhase = 3),
        path: "transitions[2].toPhase",
        message: /phase cycle 3 -> 4 -> 3/,
      },
      {
        name: "a transition into its own phase",
        mutate: (c) => (c.transitions[0].toPhase = 2),
        path: "transitions[0].toPhase",
        message: /phase cycle 2 -> 2/,
      },
      {
        name: "uppercase sport",
        mutate: (c) => (c.sport = "NBA"),
        path: "sport",
        message: /"NBA" must be lowercase letters and digits/,
      },
      {
        name: "sport starting with a digit",
        mutate: (c) => (c.sport = "9ers"),
        path: "sport",
        message: /starting with a letter/,
      },
      {
        name: "sport that Pub/Sub reserves",
        mutate: (c) => (c.sport = "google"),
        path: "sport",
        message: /must not start with "goog"/,
      },
      {
        name: "sport with a dash",
        mutate: (c) => (c.sport = "nba-g"),
        path: "sport",
        message: /lowercase letters and digits/,
      },
      {
        name: "unknown time zone",
        mutate: (c) => (c.timeZone = "America/Gotham"),
        path: "timeZone",
        message: /unknown time zone "America\/Gotham"/,
      },
      {
        name: "a missing field",
        mutate: (c) => delete c.transitions[2].functionName,
        path: "transitions[2].functionName",
        message: /^required$/,
      },
      {
        name: "a field of the wrong type",
        mutate: (c) => (c.transitions[1].normaliseClassNames = "yes"),
        path: "transitions[1].normaliseClassNames",
        message: /expected boolean/,
      },
      {
        name: "an unknown key (a typo)",
        mutate: (c) => (c.transitions[0].rule.deadline.enabeld = true),
        path: "transitions[0].rule.deadline.enabeld",
        message: /unknown key/,
      },
      {
        name: "an unknown rule kind",
        mutate: (c) => (c.transitions[3].rule.kind = "percentage"),
        path: "transitions[3].rule.kind",
        message: /Invalid discriminator/,
      },
      {
        name: "a transition without processors",
        mutate: (c) => {
          c.transitions[3].processors = [];
        },
        path: "transitions[3].processors",
        message: /too small|>=1/i,
      },
    ];

    for (const c of cases) {
      it(c.name, () => {
        const config = defaults();
        c.mutate(config);
        const problems = validatePipelineConfig(config);
        const hit = problems.find((p) => p.startsWith(`${c.path}: `) && c.message.test(p.slice(c.path.length + 2)));
        assert.ok(hit, `no problem at ${c.path} matching ${c.message}; got:\n${problems.join("\n")}`);
        assert.equal(problems.length, c.total ?? 1, `unexpected problems:\n${problems.join("\n")}`);
        const error = expectThrows(() => parsePipelineConfig(config));
        assert.deepEqual(error.problems, problems);
        assert.match(error.message, new RegExp(c.path.replace(/[[\].]/g, "\\$&")));
      });
    }

    it("an output topic that feeds a later phase's input is legitimate chaining", () => {
      const config = defaults();
      config.transitions[0].outputTopic = "phase3-analytics-complete";
      assert.deepEqual(validatePipelineConfig(config), []);
    });

    it("reports every problem at once", () => {
      const config = defaults();
      const byName = (name: string) => cases.find((c) => c.name === name) ?? assert.fail(`no case ${name}`);
      for (const name of [
        "unknown processor in a mode's critical set",
        "tier needs more processors than exist",
        "duplicate input topic",
        "uppercase sport",
        "unknown time zone",
      ]) {
        byName(name).mutate(config);
      }
      const problems = validatePipelineConfig(config);
      for (const path of [
        "transitions[1].rule.modes.overnight.critical[0]",
        "transitions[2].rule.tiers[0].minComplete",
        "transitions[1].inputTopic",
        "sport",
        "timeZone",
      ]) {
        assert.ok(problems.some((p) => p.startsWith(`${path}: `)), `missing ${path} in:\n${problems.join("\n")}`);
      }
    });

    it("reports every shape problem at once", () => {
      const config = defaults();
      delete config.sport;
      config.transitions[0].processors[0].aliases = "BigDataBallPbpProcessor";
      config.transitions[3].stallAfterMinutes = -5;
      const problems = validatePipelineConfig(config);
      assert.deepEqual(
        problems.map((p) => p.split(":")[0]),
        ["sport", "transitions[0].processors[0].aliases", "transitions[3].stallAfterMinutes"],
      );
    });

    it("rejects what is not a config at all", () => {
      assert.deepEqual(validatePipelineConfig("nba"), ["(root): Invalid input: expected object, received string"]);
      assert.ok(validatePipelineConfig({ sport: "nba", timeZone: "UTC", transitions: [] })[0]?.startsWith("transitions: "));
    });
  });

  describe("overrides", () => {
    it("no overrides: the defaults", () => {
      assert.deepEqual(applyPipelineOverrides(DEFAULT_PIPELINE, undefined), DEFAULT_PIPELINE);
      assert.deepEqual(loadPipeline(), resolvePipeline(DEFAULT_PIPELINE));
      assert.deepEqual(loadPipeline({}), resolvePipeline(DEFAULT_PIPELINE));
    });

    it("sport and time zone override; topics follow the sport", () => {
      const pipeline = loadPipeline({ sport: "mlb", timeZone: "America/Los_Angeles" });
      assert.equal(pipeline.timeZone, "America/Los_Angeles");
      assert.deepEqual(
        pipeline.transitions.map((t) => t.inputTopicName),
        ["mlb-phase2-raw-complete", "mlb-phase3-analytics-complete", "mlb-phase4-precompute-complete", "mlb-phase5-predictions-complete"],
      );
      assert.equal(pipeline.transitions[0]?.deadLetterSubscriptionName, "mlb-phase2-raw-complete-dlq-sub");
    });

    it("processors replaces the list; rule merges shallowly by key; other transitions untouched", () => {
      const before = JSON.stringify(DEFAULT_PIPELINE);
      const config = applyPipelineOverrides(DEFAULT_PIPELINE, {
        transitions: {
          "phase2-to-phase3": {
            processors: [
              { name: "p2_odds_game_lines", aliases: ["OddsApiGameLinesProcessor"], outputTables: [] },
              { name: "p2_nbacom_gamebook_pdf", aliases: [], outputTables: [] },
              { name: "p2_nbacom_boxscores", aliases: [], outputTables: [] },
            ],
            rule: { deadline: { enabled: true, afterFirstCompletionMinutes: 45, critical: ["p2_nbacom_boxscores"] } },
            stallAfterMinutes: 120,
          },
          "phase3-to-phase4": { rule: { majorityPct: 70 } },
        },
      });
      const [t0, t1, t2] = config.transitions;
      assert.deepEqual(t0?.processors.map((p) => p.name), ["p2_odds_game_lines", "p2_nbacom_gamebook_pdf", "p2_nbacom_boxscores"]);
      assert.deepEqual(t0?.rule, {
        kind: "all_complete",
        deadline: { enabled: true, afterFirstCompletionMinutes: 45, critical: ["p2_nbacom_boxscores"] },
      });
      assert.equal(t0?.stallAfterMinutes, 120);
      assert.equal(t0?.functionName, "phase2-to-phase3-orchestrator");
      assert.ok(t1?.rule.kind === "mode_aware");
      assert.equal(t1.rule.majorityPct, 70);
      assert.deepEqual(t1.rule.modes, (DEFAULT_PIPELINE.transitions[1]?.rule as typeof t1.rule).modes);
      assert.deepEqual(t2, DEFAULT_PIPELINE.transitions[2]);
      assert.equal(JSON.stringify(DEFAULT_PIPELINE), before, "the base config is not mutated");
    });

    it("an unknown transition id names the override path (with the shape problems)", () => {
      const error = expectThrows(() =>
        applyPipelineOverrides(DEFAULT_PIPELINE, {
          transitions: { "phase9-to-phase10": { stallAfterMinutes: 5 }, "phase3-to-phase4": { stallAfterMinutes: "soon" } },
        }),
      );
      assert.equal(error.problems.length, 2);
      assert.match(error.problems[0] ?? "", /^overrides\.transitions\["phase9-to-phase10"\]: unknown transition id "phase9-to-phase10" \(known: phase2-to-phase3, /);
      assert.match(error.problems[1] ?? "", /^overrides\.transitions\["phase3-to-phase4"\]\.stallAfterMinutes: .*expected number/);
    });

    it("an unknown key names the key", () => {
      const error = expectThrows(() =>
        applyPipelineOverrides(DEFAULT_PIPELINE, { timezone: "UTC", transitions: { "phase4-to-phase5": { tiers: [] } } }),
      );
      assert.deepEqual(new Set(error.problems), new Set(['overrides.transitions["phase4-to-phase5"].tiers: unknown key', "overrides.timezone: unknown key"]));
      assert.equal(error.problems.length, 2);
    });

    it("a bad value in an override is blamed on the override key", () => {
      const error = expectThrows(() =>
        loadPipeline({ timeZone: "Nowhere/Land", transitions: { "phase3-to-phase4": { rule: { majorityPct: 150 } } } }),
      );
      assert.deepEqual(error.problems, [
        'overrides.timeZone: unknown time zone "Nowhere/Land"',
        'overrides.transitions["phase3-to-phase4"].rule.majorityPct: 150 must be > 0 and <= 100',
      ]);
    });

    it("a problem inside an overridden processor list is blamed on the override", () => {
      const error = expectThrows(() =>
        loadPipeline({
          transitions: {
            "phase5-to-phase6": {
              processors: [
                { name: "prediction_coordinator", aliases: ["PredictionCoordinator"], outputTables: [] },
                { name: "shadow_coordinator", aliases: ["PredictionCoordinator"], outputTables: [] },
              ],
            },
          },
        }),
      );
      assert.deepEqual(error.problems, [
        'overrides.transitions["phase5-to-phase6"].processors[1].aliases[0]: duplicate processor name or alias "PredictionCoordinator" (already at transitions[3].processors[0].aliases[0])',
      ]);
    });

    it("an override that breaks a reference elsewhere reports the merged path", () => {
      // Dropping a processor the (unchanged) rule still names: the rule is where the problem is.
      const error = expectThrows(() =>
        loadPipeline({
          transitions: {
            "phase5-to-phase6": { processors: [{ name: "coordinator", aliases: ["PredictionCoordinator"], outputTables: [] }] },
          },
        }),
      );
      assert.deepEqual(error.problems, ['transitions[3].rule.processor: unknown processor "prediction_coordinator"']);
    });

    it("a rule override of another kind is rejected, naming the stray keys", () => {
      const error = expectThrows(() => loadPipeline({ transitions: { "phase4-to-phase5": { rule: { kind: "completion_pct" } } } }));
      assert.ok(error.problems.some((p) => p.includes("transitions[2].rule")), error.message);
    });

    it("overrides that are not an object are rejected at the root", () => {
      for (const bad of ["mlb", 3, [], true]) {
        const error = expectThrows(() => loadPipeline(bad));
        assert.match(error.problems[0] ?? "", /^overrides: /);
      }
    });
  });

  describe("PIPELINE_CONFIG", () => {
    it("round-trips a resolved pipeline (derived names are re-derived)", () => {
      const pipeline = loadPipeline({ sport: "mlb", transitions: { "phase3-to-phase4": { rule: { majorityPct: 75 } } } });
      const json = serializePipeline(pipeline);
      assert.ok(!json.includes("deadLetterTopicName"), "only the config travels");
      assert.deepEqual(pipelineFromEnv(json), pipeline);
    });

    it("missing or empty: throws naming the variable", () => {
      for (const value of [undefined, "", "  "]) {
        assert.throws(() => pipelineFromEnv(value), new RegExp(`^ConfigurationError: ${PIPELINE_CONFIG_ENV} is not set`));
      }
    });

    it("not JSON: throws naming the variable, with the parser's reason as cause", () => {
      assert.throws(
        () => pipelineFromEnv("{sport:"),
        (error: Error) => error.message.startsWith("PIPELINE_CONFIG is not valid JSON") && error.cause instanceof SyntaxError,
      );
    });

    it("an invalid config: throws naming the variable and every problem", () => {
      const config = defaults();
      config.sport = "NBA";
      config.transitions[1].rule.majorityPct = 0;
      const error = expectThrows(() => pipelineFromEnv(JSON.stringify(config)));
      assert.match(error.message, /^PIPELINE_CONFIG holds an invalid pipeline config/);
      assert.deepEqual(error.problems.map((p) => p.split(":")[0]), ["sport", "transitions[1].rule.majorityPct"]);
    });

    it("transitionById finds a transition or names the known ids", () => {
      const pipeline = loadPipeline();
      assert.equal(transitionById(pipeline, "phase4-to-phase5").functionName, "phase4-to-phase5-orchestrator");
      assert.throws(() => transitionById(pipeline, "phase1-to-phase2"), /unknown transition id "phase1-to-phase2" \(known: phase2-to-phase3/);
    });
  });

  it("PipelineConfig typing: parsePipelineConfig returns the config unchanged", () => {
    const parsed: PipelineConfig = parsePipelineConfig(defaults());
    assert.deepEqual(parsed, DEFAULT_PIPELINE);
  });
});

// Processor-name resolution: the matching order, every configured name/alias/table, and the
// normalisation of class names (examples and properties).
import assert from "node:assert/strict";
import fc from "fast-check";
import { loadPipeline } from "../../functions/core/pipeline.ts";
import type { ProcessorDef, TransitionConfig } from "../../functions/core/pipeline-types.ts";
import { normaliseClassName, resolveProcessorName, tableWithoutDataset } from "../../functions/core/processor-names.ts";

type Resolvable = Pick<TransitionConfig, "processors" | "normaliseClassNames">;
const proc = (name: string, aliases: string[] = [], outputTables: string[] = []): ProcessorDef => ({ name, aliases, outputTables });

describe("processor names", () => {
  describe("matching order", () => {
    // Built so that each step, if skipped, would give a different answer.
    const transition: Resolvable = {
      normaliseClassNames: true,
      processors: [
        proc("alpha", ["BetaProcessor"], ["alpha_table"]),
        proc("beta", ["GammaProcessor"], ["beta_v2"]),
        proc("gamma"),
      ],
    };

    it("1. the expected name itself wins over the output table", () => {
      assert.deepEqual(resolveProcessorName(transition, { processor_name: "gamma", output_table: "ds.alpha_table" }), {
        expected: "gamma",
        via: "name",
      });
    });

    it("2. the output table (dataset prefix dropped) wins over an alias", () => {
      assert.deepEqual(resolveProcessorName(transition, { processor_name: "GammaProcessor", output_table: "nba_x.alpha_table" }), {
        expected: "alpha",
        via: "output_table",
      });
      // A table that is only a processor's name also identifies it.
      assert.deepEqual(resolveProcessorName(transition, { processor_name: "GammaProcessor", output_table: "nba_x.gamma" }), {
        expected: "gamma",
        via: "output_table",
      });
    });

    it("3. an explicit alias wins over normalisation", () => {
      // BetaProcessor would normalise to "beta", but it is an alias of alpha.
      assert.deepEqual(resolveProcessorName(transition, { processor_name: "BetaProcessor" }), { expected: "alpha", via: "alias" });
      // An output table that matches nothing falls through to the alias.
      assert.deepEqual(resolveProcessorName(transition, { processor_name: "GammaProcessor", output_table: "ds.other" }), {
        expected: "beta",
        via: "alias",
      });
    });

    it("4. normalisation, only where the transition asks for it", () => {
      assert.deepEqual(resolveProcessorName(transition, { processor_name: "AsyncGammaProcessor" }), { expected: "gamma", via: "normalised" });
      assert.deepEqual(resolveProcessorName({ ...transition, normaliseClassNames: false }, { processor_name: "AsyncGammaProcessor" }), {
        expected: null,
        tried: ["name:AsyncGammaProcessor", "alias:AsyncGammaProcessor"],
      });
    });

    it("a name matching nothing returns null and lists everything tried", () => {
      assert.deepEqual(resolveProcessorName(transition, { processor_name: "DeltaProcessor", output_table: "proj.ds.delta" }), {
        expected: null,
        tried: ["name:DeltaProcessor", "output_table:delta", "alias:DeltaProcessor", "normalised:delta"],
      });
    });

    it("matching is exact (case matters; no partial matches)", () => {
      for (const name of ["Gamma", "GAMMA", "gamm", "gamma_", " gamma"]) {
        const result = resolveProcessorName({ ...transition, normaliseClassNames: false }, { processor_name: name });
        assert.equal(result.expected, null, name);
      }
    });

    it("an empty or null output_table is ignored", () => {
      for (const output_table of ["", null, undefined]) {
        assert.deepEqual(resolveProcessorName(transition, { processor_name: "nope", output_table }).expected, null);
      }
    });

    it("tableWithoutDataset drops any dataset/project prefix", () => {
      assert.equal(tableWithoutDataset("nba_raw.x"), "x");
      assert.equal(tableWithoutDataset("my-project.nba_raw.x"), "x");
      assert.equal(tableWithoutDataset("x"), "x");
    });
  });

  describe("every configured name, alias and output table of the default pipeline resolves", () => {
    for (const t of loadPipeline().transitions) {
      it(t.id, () => {
        for (const p of t.processors) {
          assert.deepEqual(resolveProcessorName(t, { processor_name: p.name }), { expected: p.name, via: "name" });
          for (const alias of p.aliases) {
            const result = resolveProcessorName(t, { processor_name: alias });
            // On normalising transitions an alias may also normalise; either way it must land on p.
            assert.equal(result.expected, p.name, `${alias} -> ${JSON.stringify(result)}`);
            assert.equal((result as { via: string }).via, "alias");
          }
          for (const table of p.outputTables) {
            assert.deepEqual(resolveProcessorName(t, { processor_name: "SomeNewClass", output_table: `some_dataset.${table}` }), {
              expected: p.name,
              via: "output_table",
            });
          }
        }
      });
    }
  });

  describe("normaliseClassName", () => {
    const examples: [string, string][] = [
      ["MLFeatureStoreProcessor", "ml_feature_store"],
      ["PlayerGameSummaryProcessor", "player_game_summary"],
      ["AsyncUpcomingPlayerGameContextProcessor", "upcoming_player_game_context"],
      ["TeamDefenseZoneAnalysisProcessor", "team_defense_zone_analysis"],
      ["MLFeatureStoreV2Processor", "ml_feature_store_v2"],
      ["NBAComBoxscoreProcessor", "nba_com_boxscore"],
      ["PlayerDailyCache", "player_daily_cache"],
      ["player_daily_cache", "player_daily_cache"],
      ["Processor", "processor"],
      ["AsyncProcessor", "async"],
      ["Asynchronous", "asynchronous"],
      ["ProcessorProcessor", "processor"],
    ];
    for (const [input, output] of examples) {
      it(`${input} -> ${output}`, () => assert.equal(normaliseClassName(input), output));
    }

    const word = fc.stringMatching(/^[a-z]{2,8}$/);
    const snakeCase = fc.array(fc.stringMatching(/^[a-z][a-z0-9]{0,7}$/), { minLength: 1, maxLength: 5 }).map((ws) => ws.join("_"));
    const capitalise = (w: string) => w.charAt(0).toUpperCase() + w.slice(1);

    it("is idempotent (property)", () => {
      fc.assert(fc.property(fc.string({ maxLength: 40 }), (s) => normaliseClassName(normaliseClassName(s)) === normaliseClassName(s)));
      fc.assert(
        fc.property(fc.stringMatching(/^[A-Za-z0-9_]{0,30}$/), (s) => normaliseClassName(normaliseClassName(s)) === normaliseClassName(s)),
      );
    });

    it("leaves snake_case unchanged (property)", () => {
      fc.assert(fc.property(snakeCase, (s) => normaliseClassName(s) === s));
    });

    it("inverts CamelCase class naming, with Processor suffix and Async prefix (property)", () => {
      fc.assert(
        // A first word "async" would read as the Async prefix: not a class name anyone writes.
        fc.property(fc.array(word, { minLength: 1, maxLength: 5 }).filter((ws) => ws[0] !== "async"), fc.boolean(), fc.boolean(), (words, suffix, async) => {
          const className = `${async ? "Async" : ""}${words.map(capitalise).join("")}${suffix ? "Processor" : ""}`;
          assert.equal(normaliseClassName(className), words.join("_"));
        }),
      );
    });

    it("keeps an acronym together when a word follows it (property)", () => {
      fc.assert(
        fc.property(fc.stringMatching(/^[A-Z]{2,4}$/), fc.array(word, { minLength: 1, maxLength: 3 }), (acronym, words) => {
          const className = `${acronym}${words.map(capitalise).join("")}Processor`;
          assert.equal(normaliseClassName(className), [acronym.toLowerCase(), ...words].join("_"));
        }),
      );
    });

    it("yields only lowercase letters, digits and _ from alphanumeric class names (property)", () => {
      fc.assert(fc.property(fc.stringMatching(/^[A-Za-z0-9]{1,30}$/), (s) => /^[a-z0-9_]+$/.test(normaliseClassName(s))));
    });
  });
});

// Reason strings people read in docs, comments and the BigQuery schema are ones decide() produces.
// The grammar below is checked against decide() itself (every rule, triggering and waiting), then
// every reason-shaped token in the tracked files outside decision.ts and the tests is checked
// against it: an example like "tier_1h_4_of_5" that the code never writes fails here.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { decide, foldEntries } from "../../functions/core/decision.ts";
import type { DecisionInput, PhaseEntry } from "../../functions/core/decision-types.ts";
import { resolvePipeline } from "../../functions/core/pipeline.ts";
import { DEFAULT_PIPELINE } from "../../functions/core/pipeline-defaults.ts";
import type { Transition } from "../../functions/core/pipeline-types.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** Every reason decide() can give (functions/core/decision.ts). */
const REASON_GRAMMAR = [
  /^all_complete$/,
  /^deadline_critical_complete$/,
  /^critical_plus_majority_\d+pct$/,
  /^tier_\d+_\d+min_\d+of\d+$/,
  /^completion_pct_\d+$/,
  /^waiting$/,
  /^no_expected_processors$/,
  /^completion_pct_missing$/,
  /^completion_pct_below_min$/,
];
const isReason = (s: string): boolean => REASON_GRAMMAR.some((re) => re.test(s));
/** Tokens shaped like a specific reason (the unambiguous families; "waiting" is an ordinary word). */
const REASON_TOKEN = /\b(?:tier_[0-9a-z_]+|critical_plus_majority_[0-9a-z_]+|completion_pct_[0-9a-z_]+|deadline_[a-z_]*complete|all_complete_[0-9a-z_]+)\b/g;

const FIRST = "2026-01-15T15:00:00.000Z";
const DEFAULTS = resolvePipeline(DEFAULT_PIPELINE);
const at = (hours: number) => new Date(Date.parse(FIRST) + hours * 3_600_000);
const entries = (t: Transition, n: number, pct?: number): Record<string, PhaseEntry> =>
  foldEntries(
    t.processors.slice(0, n).map((p) => {
      const e: PhaseEntry = { processor: p.name, status: "success", completedAt: FIRST, recordedAt: FIRST };
      if (pct !== undefined) e.completionPct = pct;
      return e;
    }),
  );
const input = (t: Transition, e: Record<string, PhaseEntry>, hours: number): DecisionInput => ({
  transition: t,
  gameDate: "2026-01-15",
  now: at(hours),
  entries: e,
  firstCompletionAt: FIRST,
});

describe("reason strings", () => {
  it("the grammar matches what decide() gives, for every default transition, complete or not, early and late", () => {
    const seen = new Set<string>();
    for (const t of DEFAULTS.transitions) {
      for (let n = 0; n <= t.processors.length; n++) {
        for (const hours of [0.1, 1, 2, 5, 30]) {
          for (const pct of [undefined, 50, 99]) {
            const { reason } = decide(input(t, entries(t, n, pct), hours));
            assert.ok(isReason(reason), `${t.id}: "${reason}" is not in the grammar`);
            seen.add(reason.replace(/\d+/g, "N"));
          }
        }
      }
    }
    // Not vacuous: the degraded families and the waiting reasons all occurred.
    for (const family of ["all_complete", "waiting", "tier_N_Nmin_NofN", "completion_pct_N", "completion_pct_missing", "completion_pct_below_min"]) {
      assert.ok(seen.has(family), `${family} never produced (saw ${[...seen].join(", ")})`);
    }
  });

  it("flags a documented reason the code does not produce (positive control)", () => {
    const tokens = [..."e.g. all_complete, tier_1h_4_of_5, tier_1_60min_4of5".matchAll(REASON_TOKEN)].map((m) => m[0]);
    assert.deepEqual(tokens.filter((t) => !isReason(t)), ["tier_1h_4_of_5"]);
  });

  it("every reason named in docs, comments and schemas is one decide() produces", () => {
    const files = execFileSync("git", ["ls-files", "-z"], { cwd: ROOT, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 })
      .split("\0")
      .filter((f) => /\.(ts|md|yaml|json)$/.test(f) && !f.startsWith("test/") && f !== "functions/core/decision.ts" && !f.endsWith("package-lock.json"));
    const wrong: string[] = [];
    for (const file of files) {
      let text: string;
      try {
        text = readFileSync(path.join(ROOT, file), "utf8");
      } catch (error) {
        // Tracked but deleted in the working tree (a change in progress): nothing to check.
        if ((error as NodeJS.ErrnoException).code === "ENOENT") continue;
        throw error;
      }
      for (const m of text.matchAll(REASON_TOKEN)) if (!isReason(m[0])) wrong.push(`${file}: ${m[0]}`);
    }
    assert.deepEqual(wrong, []);
  });
});

// The shadow comparison (tools/shadow-report/compare.ts), by table: both (same fields / a field the
// downstream reads differs), only the existing system, only ours, neither; the verdict and delay.
import assert from "node:assert/strict";
import { loadPipeline } from "../../functions/core/pipeline.ts";
import { compareTriggers, fieldsReadBy, type ObservedTrigger } from "../../tools/shadow-report/compare.ts";
import { renderShadowReport } from "../../tools/shadow-report/render.ts";

const transitions = loadPipeline().transitions;
const at = (s: string) => new Date(`2026-03-01T${s}Z`);
const trig = (transitionId: string, gameDate: string, time: string, payload: Record<string, unknown> = {}): ObservedTrigger => ({
  transitionId,
  gameDate,
  at: at(time),
  payload: { game_date: gameDate, correlation_id: `c-${time}`, trigger_id: `${transitionId}:${gameDate}`, ...payload },
});

describe("shadow comparison", () => {
  const cases: {
    name: string;
    ours: ObservedTrigger[];
    existing: ObservedTrigger[];
    expected?: { transitionId: string; gameDate: string }[];
    outcome: string;
    agree: boolean;
    delayMs?: number;
    diffFields?: string[];
  }[] = [
    { name: "both, same fields (ids and timestamps differ)", ours: [trig("phase2-to-phase3", "2026-02-28", "10:00:05")], existing: [trig("phase2-to-phase3", "2026-02-28", "10:00:00")], outcome: "both", agree: true, delayMs: 5000, diffFields: [] },
    {
      name: "both, a field the exporter reads differs",
      ours: [trig("phase5-to-phase6", "2026-02-28", "11:00:00", { export_types: ["predictions"], target_date: "2026-02-28", update_latest: true })],
      existing: [trig("phase5-to-phase6", "2026-02-28", "11:00:30", { export_types: ["predictions", "best-bets"], target_date: "2026-02-28", update_latest: true })],
      outcome: "both",
      agree: false,
      delayMs: -30000,
      diffFields: ["export_types"],
    },
    { name: "only the existing system", ours: [], existing: [trig("phase3-to-phase4", "2026-02-28", "12:00:00")], outcome: "only_existing", agree: false },
    { name: "only ours", ours: [trig("phase4-to-phase5", "2026-02-28", "12:00:00")], existing: [], outcome: "only_ours", agree: false },
    { name: "neither (a date with completions, no trigger)", ours: [], existing: [], expected: [{ transitionId: "phase2-to-phase3", gameDate: "2026-02-27" }], outcome: "neither", agree: true },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const result = compareTriggers(transitions, c.ours, c.existing, c.expected);
      assert.equal(result.rows.length, 1);
      const row = result.rows[0]!;
      assert.equal(row.outcome, c.outcome);
      assert.equal(row.agree, c.agree);
      assert.equal(result.agree, c.agree);
      assert.equal(row.delayMs, c.delayMs);
      if (c.diffFields) assert.deepEqual(row.differences.map((d) => d.field), c.diffFields);
      assert.match(renderShadowReport("prod", result), c.agree ? /\*\*Agree\*\*/ : /\*\*Disagree\*\*/);
    });
  }

  it("several pairs: the verdict is the conjunction; the earliest trigger of a side is compared, duplicates counted", () => {
    const result = compareTriggers(
      transitions,
      [trig("phase2-to-phase3", "2026-02-28", "10:00:09"), trig("phase2-to-phase3", "2026-02-28", "10:00:02"), trig("phase3-to-phase4", "2026-02-28", "10:30:00")],
      [trig("phase2-to-phase3", "2026-02-28", "10:00:00"), trig("phase3-to-phase4", "2026-02-28", "10:29:00")],
    );
    assert.equal(result.agree, true);
    assert.deepEqual(result.rows.map((r) => [r.transitionId, r.delayMs, r.counts.ours]), [["phase2-to-phase3", 2000, 2], ["phase3-to-phase4", 60000, 1]]);
    const broken = compareTriggers(transitions, [trig("phase2-to-phase3", "2026-02-28", "10:00:00")], [trig("phase2-to-phase3", "2026-02-28", "10:00:00"), trig("phase3-to-phase4", "2026-02-28", "10:29:00")]);
    assert.equal(broken.agree, false);
  });

  it("compares what each downstream reader reads", () => {
    const byTo = (n: number) => fieldsReadBy(transitions.find((t) => t.toPhase === n)!);
    assert.deepEqual(byTo(4), ["game_date", "analysis_date"]);
    assert.deepEqual(byTo(6), ["game_date", "export_types", "target_date", "update_latest"]);
  });
});

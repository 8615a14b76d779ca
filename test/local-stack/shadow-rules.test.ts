// The pure parts of `npm start -- --shadow`: the flags, the disagreements the simulated existing
// system can be told to make, the game day's verdict with a withheld transition, and how the shadow
// report's verdict joins the game day's. Run against the real emulators in shadow.test.ts.
import assert from "node:assert/strict";
import { DEFAULT_PIPELINE } from "../../functions/core/pipeline-defaults.ts";
import { parseCliArgs, UsageError } from "../../tools/local-stack/args.ts";
import { parseDisagreement } from "../../tools/local-stack/disagreement.ts";
import { checkDisagreements, differingField, otherValue } from "../../tools/local-stack/existing-system.ts";
import { judge, reportJson, withShadow, type Observations } from "../../tools/local-stack/report.ts";
import type { ShadowReport } from "../../tools/shadow-report.ts";

const observed = (over: Partial<Observations> = {}): Observations => ({
  stack: "dev",
  dates: ["2026-11-28"],
  transitions: ["a", "b"],
  triggers: [
    { transition: "a", gameDate: "2026-11-28", count: 1, deliveries: 1, seconds: 1 },
    { transition: "b", gameDate: "2026-11-28", count: 1, deliveries: 1, seconds: 1 },
  ],
  completions: { published: 6, duplicatesPublished: 1, firestore: 6, bigquery: 6 },
  deadLettered: 0,
  deadLetters: [],
  quarantined: 0,
  expectedQuarantined: 0,
  pendingTriggers: [],
  alerts: 0,
  alertsRefused: 0,
  alertsAfterHeal: 0,
  faults: [],
  faultChecks: [],
  localOverrides: [],
  notes: [],
  durationSeconds: 3,
  timedOut: false,
  ...over,
});

const shadow = (rows: ShadowReport["rows"]): ShadowReport => ({ stack: "dev", source: "emulators", rows, agree: rows.every((r) => r.agree) });

describe("npm start -- --shadow: flags, disagreements and verdict", () => {
  it("--shadow-disagree implies --shadow, defaults to skip, is repeatable once per transition; bad ones are usage errors", () => {
    assert.deepEqual(parseCliArgs(["--shadow"]).shadow, true);
    const o = parseCliArgs(["--shadow-disagree", "phase5-to-phase6", "--shadow-disagree", "phase3-to-phase4:field"]);
    assert.equal(o.shadow, true);
    assert.deepEqual(o.shadowDisagree, [
      { transitionId: "phase5-to-phase6", kind: "skip" },
      { transitionId: "phase3-to-phase4", kind: "field" },
    ]);
    for (const bad of [["--shadow-disagree", "x:sideways"], ["--shadow-disagree", ":skip"], ["--shadow-disagree", "a:skip:b"], ["--shadow-disagree", "a", "--shadow-disagree", "a:early"]]) {
      assert.throws(() => parseCliArgs(bad), UsageError, bad.join(" "));
    }
    assert.deepEqual(parseDisagreement("phase4-to-phase5:early"), { transitionId: "phase4-to-phase5", kind: "early" });
  });

  it("a disagreement must name a transition of the stack, and a field one needs a field besides game_date", () => {
    assert.deepEqual(checkDisagreements(DEFAULT_PIPELINE, [{ transitionId: "phase3-to-phase4", kind: "field" }, { transitionId: "phase2-to-phase3", kind: "skip" }]), []);
    const problems = checkDisagreements(DEFAULT_PIPELINE, [{ transitionId: "phase9-to-phase10", kind: "skip" }, { transitionId: "phase2-to-phase3", kind: "field" }]);
    assert.equal(problems.length, 2, problems.join("\n"));
    assert.match(problems[0]!, /phase9-to-phase10: not a transition of this stack/);
    assert.match(problems[1]!, /phase2-to-phase3:field: its reader reads no field besides game_date/);
  });

  it("a field disagreement changes the first field the reader reads besides game_date, keeping its kind", () => {
    const field = (id: string) => differingField(DEFAULT_PIPELINE.transitions.find((t) => t.id === id)!);
    assert.equal(field("phase2-to-phase3"), undefined);
    assert.equal(field("phase3-to-phase4"), "analysis_date");
    assert.equal(field("phase4-to-phase5"), "trigger_source");
    assert.equal(field("phase5-to-phase6"), "export_types");
    assert.equal(otherValue("2026-11-28"), "2026-11-27");
    assert.equal(otherValue("orchestrator"), "orchestrator-existing");
    assert.deepEqual(otherValue(["a", "b"]), ["a"]);
    assert.deepEqual(otherValue(["a"]), ["a", "existing-extra"]);
    assert.equal(otherValue(true), false);
    assert.equal(otherValue(3), 4);
    for (const v of ["2026-11-28", "orchestrator", ["a"], ["a", "b"], true, 3, null]) assert.notDeepEqual(otherValue(v), v);
  });

  it("a withheld transition must not be triggered live at all; the others exactly once", () => {
    const skipped = observed({ withheld: ["b"], triggers: [{ transition: "a", gameDate: "2026-11-28", count: 1, deliveries: 1, seconds: 1 }] });
    assert.deepEqual(judge(skipped).problems, []);
    const leaked = judge(observed({ withheld: ["b"] }));
    assert.deepEqual(leaked.problems, ["b 2026-11-28: triggered 1 times, expected never (withheld by the existing system)"]);
  });

  it("the shadow verdict joins the game day's: each differing pair is a problem naming its case; nothing to compare is one too", () => {
    const day = judge(observed());
    const agree = withShadow(day, shadow([{ transitionId: "a", gameDate: "2026-11-28", outcome: "both", delayMs: 10, differences: [], counts: { ours: 1, existing: 1 }, agree: true }]));
    assert.equal(agree.ok, true);
    assert.deepEqual((reportJson(agree).shadow as ShadowReport).rows.length, 1);
    const differ = withShadow(
      day,
      shadow([
        { transitionId: "a", gameDate: "2026-11-28", outcome: "only_ours", differences: [], counts: { ours: 1, existing: 0 }, agree: false },
        { transitionId: "b", gameDate: "2026-11-28", outcome: "both", delayMs: 1, differences: [{ field: "analysis_date", ours: "2026-11-28", existing: "2026-11-27" }], counts: { ours: 1, existing: 1 }, agree: false },
        { transitionId: "c", gameDate: "2026-11-28", outcome: "only_existing", differences: [], counts: { ours: 0, existing: 1 }, agree: false },
      ]),
    );
    assert.equal(differ.ok, false);
    assert.deepEqual(differ.problems, [
      "shadow report: a 2026-11-28: only ours triggered",
      'shadow report: b 2026-11-28: both triggered; analysis_date: ours "2026-11-28", existing "2026-11-27"',
      "shadow report: c 2026-11-28: only the existing system triggered",
    ]);
    assert.deepEqual(withShadow(day, shadow([])).problems, ["shadow report: nothing to compare (no phase state and no live trigger read)"]);
    assert.equal(withShadow(judge(observed({ deadLettered: 1 })), shadow([])).ok, false);
  });
});

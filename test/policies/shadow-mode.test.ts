// Shadow mode as the program declares it (triggerMode: shadow) and the two policies that guard it:
// functions named <name>-shadow with TRIGGER_MODE=shadow, a shadow topic and a tap subscription per
// live trigger topic, publisher grants on shadow topics only; a live stack with shadow topics left
// over and a shadow stack whose functions may publish to a live trigger topic both fail.
import assert from "node:assert/strict";
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { loadPipeline } from "../../functions/core/pipeline.ts";
import { liveTriggerTopics, shadowTopicName, tapSubscriptionName } from "../../functions/core/trigger-routing.ts";
import { POLICIES } from "../../policies/policies.ts";
import { liveStackNoShadowTopics } from "../../policies/rules/live-stack-no-shadow-topics.ts";
import { shadowNoLivePublisher } from "../../policies/rules/shadow-no-live-publisher.ts";
import { captureStack } from "../../tools/plan/policy-capture.ts";
import type { RegisteredResource } from "../../tools/plan/policy-capture.ts";
import { check, cloneResource, copyOf, environmentOf, find, MODES, ofType, planned, T, type Mode } from "./fixtures.ts";

const ROOT = path.resolve(import.meta.dirname, "..", "..");
const TOPIC_IAM = "gcp:pubsub/topicIAMMember:TopicIAMMember";
const SCHEDULER_JOB = "gcp:cloudscheduler/job:Job";
const pipeline = loadPipeline();
const LIVE = liveTriggerTopics(pipeline).sort();

let configDir: string;
const shadowCache = new Map<Mode, Promise<RegisteredResource[]>>();
/** The prod stack with triggerMode: shadow (a copy of the stack files with that one key added). */
function shadowProd(mode: Mode = "known"): Promise<RegisteredResource[]> {
  let p = shadowCache.get(mode);
  if (p === undefined) {
    p = captureStack("prod", { configDir, preview: mode === "preview" }).then((c) => c.resources);
    shadowCache.set(mode, p);
  }
  return p.then((rs) => rs.map(cloneResource));
}

const nameOf = (r: RegisteredResource): string => String(r.inputs.name);

describe("shadow mode: declarations and policies", function () {
  this.timeout(600_000);

  before(async () => {
    configDir = await mkdtemp(path.join(tmpdir(), "shadow-stack-"));
    await copyFile(path.join(ROOT, "Pulumi.yaml"), path.join(configDir, "Pulumi.yaml"));
    const prod = await readFile(path.join(ROOT, "Pulumi.prod.yaml"), "utf8");
    await writeFile(path.join(configDir, "Pulumi.prod.yaml"), `${prod.trimEnd()}\n  phase-orchestration:triggerMode: shadow\n`);
  });
  after(async () => {
    await rm(configDir, { recursive: true, force: true });
  });

  it("shadow prod: functions and jobs named <name>-shadow with TRIGGER_MODE=shadow, a shadow topic and a pull tap per live trigger topic", async () => {
    const rs = await shadowProd();
    const fns = ofType(rs, T.function);
    assert.equal(fns.length, pipeline.transitions.length + 2);
    for (const fn of fns) {
      assert.match(nameOf(fn), /-shadow$/);
      assert.equal((fn.inputs.serviceConfig as { environmentVariables: Record<string, string> }).environmentVariables.TRIGGER_MODE, "shadow");
    }
    for (const job of ofType(rs, SCHEDULER_JOB)) assert.match(nameOf(job), /-shadow$/);
    const topics = new Set(ofType(rs, T.topic).map(nameOf));
    for (const live of LIVE) {
      assert.ok(topics.has(live), `${live} still declared (adopted, read by downstream)`);
      assert.ok(topics.has(shadowTopicName(live)), `${shadowTopicName(live)} declared`);
    }
    const taps = ofType(rs, T.subscription).filter((s) => nameOf(s).endsWith("-tap"));
    assert.deepEqual(taps.map(nameOf).sort(), LIVE.map(tapSubscriptionName).sort());
    for (const tap of taps) {
      assert.equal(tap.inputs.pushConfig, undefined, "a tap is a pull subscription");
      assert.equal(tap.inputs.topic, nameOf(tap).replace(/-tap$/, ""));
    }
  });

  it("shadow prod: every publisher grant of a function is on a shadow topic; each function may publish where its routed triggers go", async () => {
    const rs = await shadowProd();
    const grants = ofType(rs, TOPIC_IAM).filter((g) => g.inputs.role === "roles/pubsub.publisher" && !/dlq/.test(g.name));
    assert.ok(grants.length >= pipeline.transitions.length);
    for (const g of grants) assert.match(String(g.inputs.topic), /-shadow$/, `${g.name} on ${String(g.inputs.topic)}`);
    for (const t of pipeline.transitions) {
      assert.ok(grants.some((g) => g.name.startsWith(t.functionName) && g.inputs.topic === shadowTopicName(t.outputTopicName)), `${t.functionName} may publish to its shadow topic`);
    }
  });

  for (const mode of MODES) {
    it(`shadow prod passes every mandatory policy of the pack (${mode})`, async () => {
      const violations = await check(POLICIES, await shadowProd(mode), await environmentOf("prod"));
      assert.deepEqual(violations.filter((v) => v.level === "mandatory"), []);
    });
    it(`live prod: TRIGGER_MODE=live, no shadow topic nor tap, both shadow policies pass (${mode})`, async () => {
      const rs = await planned("prod", mode);
      for (const fn of ofType(rs, T.function)) {
        assert.equal((fn.inputs.serviceConfig as { environmentVariables: Record<string, string> }).environmentVariables.TRIGGER_MODE, "live");
      }
      assert.equal(ofType(rs, T.topic).filter((t) => String(t.inputs.name).endsWith("-shadow")).length, 0);
      assert.equal(ofType(rs, T.subscription).filter((t) => String(t.inputs.name).endsWith("-tap")).length, 0);
      assert.deepEqual(await check([liveStackNoShadowTopics, shadowNoLivePublisher], rs), []);
    });
  }

  it("live-stack-no-shadow-topics: a live stack with a shadow topic left over fails, naming it", async () => {
    const rs = await planned("prod");
    const live = find(rs, T.topic, "nba-phase3-trigger");
    const leftover = copyOf(live, "shadow");
    leftover.inputs.name = leftover.outputs.name = "nba-phase3-trigger-shadow";
    const violations = await check(liveStackNoShadowTopics, [...rs, leftover]);
    assert.deepEqual(violations.map((v) => v.resource), [leftover.urn]);
    assert.match(violations[0]!.message, /shadow topic in a stack whose functions publish live/);
    // The same topic in a shadow stack is expected.
    assert.deepEqual(await check(liveStackNoShadowTopics, await shadowProd()), []);
  });

  for (const mode of MODES) {
    it(`shadow-no-live-publisher: a shadow function granted publisher on a live trigger topic fails (${mode})`, async () => {
      const rs = await shadowProd(mode);
      const grant = rs.find((g) => g.type === TOPIC_IAM && g.name.startsWith("phase2-to-phase3-orchestrator-publisher"))!;
      const liveTopic = ofType(rs, T.topic).find((t) => t.inputs.name === "nba-phase3-trigger")!;
      const bad = copyOf(grant, "live");
      bad.inputs.topic = bad.outputs.topic = "nba-phase3-trigger";
      bad.propertyDependencies = { ...bad.propertyDependencies, topic: [liveTopic.urn] };
      const violations = await check(shadowNoLivePublisher, [...rs, bad]);
      assert.deepEqual(violations.map((v) => v.resource), [bad.urn]);
      assert.match(violations[0]!.message, /shadow-mode function publish to the live trigger topic/);
      // A grant on the live topic to someone else (e.g. the existing system's account) is not ours to refuse.
      const other = copyOf(bad, "other");
      other.inputs.member = other.outputs.member = "serviceAccount:old-orchestrator@p.iam.gserviceaccount.com";
      other.propertyDependencies = { topic: [liveTopic.urn] };
      assert.deepEqual(await check(shadowNoLivePublisher, [...rs, other]), []);
    });
  }
});

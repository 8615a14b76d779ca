import assert from "node:assert/strict";
import fc from "fast-check";
import { effectiveCpu, instanceSizingProblems, memoryMiB } from "../../functions/core/instance-sizing.ts";

describe("instance sizing (Cloud Run's memory / CPU / concurrency rules)", () => {
  it("today's default (512Mi, derived CPU, one request at a time) is valid; derived CPU follows the tier table", () => {
    assert.deepEqual(instanceSizingProblems({ memory: "512Mi", cpu: undefined, concurrency: 1 }), []);
    assert.equal(effectiveCpu({ memory: "512Mi", cpu: undefined }), 0.333);
    assert.equal(effectiveCpu({ memory: "1Gi", cpu: undefined }), 0.583);
    assert.equal(effectiveCpu({ memory: "2Gi", cpu: undefined }), 1);
    assert.equal(effectiveCpu({ memory: "256Mi", cpu: "1" }), 1);
    assert.equal(memoryMiB("2Gi"), 2048);
    assert.equal(memoryMiB("2G"), undefined);
  });

  it("concurrency above 1 needs at least 1 CPU, explicit or derived", () => {
    assert.match(instanceSizingProblems({ memory: "512Mi", cpu: undefined, concurrency: 8 }).join(), /needs at least 1 CPU.*0\.333 CPU derived from 512Mi/);
    assert.match(instanceSizingProblems({ memory: "512Mi", cpu: "0.5", concurrency: 2 }).join(), /needs at least 1 CPU, but the instance has cpu 0\.5/);
    assert.deepEqual(instanceSizingProblems({ memory: "512Mi", cpu: "1", concurrency: 8 }), []);
    assert.deepEqual(instanceSizingProblems({ memory: "2Gi", cpu: undefined, concurrency: 80 }), []);
  });

  it("memory must fit the CPU, and large CPUs need memory", () => {
    assert.match(instanceSizingProblems({ memory: "1Gi", cpu: "0.25", concurrency: 1 }).join(), /above 512Mi\) needs at least 0\.5 CPU/);
    assert.match(instanceSizingProblems({ memory: "2Gi", cpu: "0.5", concurrency: 1 }).join(), /above 1Gi\) needs at least 1 CPU/);
    assert.match(instanceSizingProblems({ memory: "6Gi", cpu: "1", concurrency: 1 }).join(), /needs at least 2 CPUs/);
    assert.match(instanceSizingProblems({ memory: "20Gi", cpu: "4", concurrency: 1 }).join(), /needs at least 6 CPUs/);
    assert.match(instanceSizingProblems({ memory: "1Gi", cpu: "4", concurrency: 1 }).join(), /4 CPUs need at least 2Gi/);
    assert.match(instanceSizingProblems({ memory: "2Gi", cpu: "8", concurrency: 1 }).join(), /8 CPUs need at least 4Gi/);
    assert.match(instanceSizingProblems({ memory: "64Gi", cpu: "8", concurrency: 1 }).join(), /maximum of 32Gi/);
  });

  it("CPU values outside Cloud Run's set are named", () => {
    for (const cpu of ["3", "0.05", "1.5", "0.125", "16"]) {
      assert.match(instanceSizingProblems({ memory: "512Mi", cpu, concurrency: 1 }).join(), /must be 0\.08\.\.0\.99/, cpu);
    }
    assert.match(instanceSizingProblems({ memory: "512Mi", cpu: "1", concurrency: 0 }).join(), /concurrency 0/);
  });

  it("property: every accepted combination satisfies each rule; concurrency 1 with a derived CPU is always accepted up to 32Gi", () => {
    const cpus = fc.oneof(fc.constantFrom("1", "2", "4", "6", "8"), fc.integer({ min: 8, max: 99 }).map((n) => `0.${String(n).padStart(2, "0")}`));
    const memory = fc.oneof(fc.integer({ min: 1, max: 64 }).map((n) => `${n * 128}Mi`), fc.integer({ min: 1, max: 32 }).map((n) => `${n}Gi`));
    fc.assert(
      fc.property(memory, fc.option(cpus, { nil: undefined }), fc.integer({ min: 1, max: 1000 }), (mem, cpu, concurrency) => {
        const ok = instanceSizingProblems({ memory: mem, cpu, concurrency }).length === 0;
        const mib = memoryMiB(mem)!;
        const c = effectiveCpu({ memory: mem, cpu })!;
        if (ok) {
          assert.ok(mib <= 32 * 1024);
          assert.ok(concurrency === 1 || c >= 1, "concurrency > 1 only with 1 CPU");
          if (cpu !== undefined) {
            assert.ok(mib <= 512 || c >= 0.5);
            assert.ok(mib <= 1024 || c >= 1);
            assert.ok(mib <= 4096 || c >= 2);
          }
        }
        if (cpu === undefined && concurrency === 1 && mib <= 32 * 1024) assert.ok(ok, `${mem} derived`);
      }),
    );
  });
});

// Memory, CPU and concurrency per stack: the config reaches each function's serviceConfig, and a
// combination Cloud Run would reject fails the program naming the keys.
import assert from "node:assert/strict";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parseStackConfig, StackConfigError } from "../../infra/stack-config.ts";
import { evaluateStack } from "../../tools/plan/evaluate.ts";
import { readStackFiles } from "../../tools/plan/stack-files.ts";
import { ofType, ROOT, STACKS, T } from "./helpers.ts";

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => v as Obj;

async function withStack<T>(extra: string, body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(path.join(tmpdir(), "function-sizing-"));
  try {
    await cp(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
    const dev = await readFile(path.join(ROOT, "Pulumi.dev.yaml"), "utf8");
    await writeFile(path.join(dir, "Pulumi.sized.yaml"), dev.trimEnd() + "\n" + extra);
    return await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("function sizing: memory, CPU and request concurrency per stack", function () {
  this.timeout(180_000);

  it("the stacks keep one request per instance with the CPU derived from the memory", async () => {
    for (const stack of STACKS) {
      const config = parseStackConfig(readStackFiles(ROOT, stack).config);
      assert.equal(config.functions.concurrency, 1, stack);
      assert.equal(config.functions.cpu, undefined, stack);
    }
    const plan = await evaluateStack("dev");
    const fns = ofType(plan, T.function);
    assert.ok(fns.length > 0);
    for (const fn of fns) {
      const svc = obj(fn.inputs.serviceConfig);
      assert.equal(svc.maxInstanceRequestConcurrency, 1, fn.name);
      assert.ok(!("availableCpu" in svc), `${fn.name}: no availableCpu, Cloud Functions derives it`);
    }
  });

  it("functionConcurrency with functionCpu reaches every function's serviceConfig", async () => {
    await withStack("  phase-orchestration:functionConcurrency: 8\n  phase-orchestration:functionCpu: \"1\"\n", async (dir) => {
      const plan = await evaluateStack("sized", { configDir: dir });
      const fns = ofType(plan, T.function);
      assert.ok(fns.length > 0);
      for (const fn of fns) {
        const svc = obj(fn.inputs.serviceConfig);
        assert.equal(svc.maxInstanceRequestConcurrency, 8, fn.name);
        assert.equal(svc.availableCpu, "1", fn.name);
        assert.equal(svc.availableMemory, "512Mi", fn.name);
      }
    });
  });

  it("concurrency above 1 without 1 CPU fails the program naming the keys (the API would reject it)", async () => {
    await withStack("  phase-orchestration:functionConcurrency: 8\n", async (dir) => {
      await assert.rejects(evaluateStack("sized", { configDir: dir }), (e: unknown) => {
        assert.ok(e instanceof Error && e.name === new StackConfigError([]).name, String(e));
        assert.match(e.message, /functionCpu.*functionConcurrency.*concurrency 8 needs at least 1 CPU/);
        return true;
      });
    });
  });
});

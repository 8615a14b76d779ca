import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { PLATFORM_PACKAGES } from "../../infra/bundle/esbuild-bundle.ts";
import { LockfileError, platformManifest } from "../../infra/bundle/platform-lock.ts";
import { ROOT } from "./helpers.ts";

type Lock = { packages: Record<string, { version?: string; dependencies?: Record<string, string>; optionalDependencies?: Record<string, string>; dev?: boolean }> };
const rootLock = JSON.parse(readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as Lock;

/** Node's lookup from a lockfile path: its own node_modules, then each ancestor's. */
function resolves(packages: Lock["packages"], from: string, dep: string): boolean {
  let base = from;
  for (;;) {
    if (packages[base === "" ? `node_modules/${dep}` : `${base}/node_modules/${dep}`] !== undefined) return true;
    if (base === "") return false;
    const cut = base.lastIndexOf("/node_modules/");
    base = cut < 0 ? "" : base.slice(0, cut);
  }
}

describe("platform package.json and lockfile of an archive", () => {
  const m = platformManifest(rootLock, "some-function", PLATFORM_PACKAGES);
  const pkg = JSON.parse(m.packageJson) as { name: string; main: string; type: string; dependencies: Record<string, string> };
  const lock = JSON.parse(m.packageLock) as Lock & { lockfileVersion: number };

  it("pins exactly the platform packages at the root lockfile's versions", () => {
    assert.deepEqual(Object.keys(pkg.dependencies), [...PLATFORM_PACKAGES]);
    for (const name of PLATFORM_PACKAGES) {
      assert.equal(pkg.dependencies[name], rootLock.packages[`node_modules/${name}`]!.version);
      assert.match(pkg.dependencies[name]!, /^\d+\.\d+\.\d+/, "an exact version, not a range");
    }
    assert.equal(pkg.main, "index.js");
    assert.equal(pkg.type, "module");
    assert.equal(lock.lockfileVersion, 3);
  });

  it("the lock is complete: every required dependency of every entry resolves inside it, with the root's versions", () => {
    const entries = Object.entries(lock.packages).filter(([p]) => p !== "");
    assert.ok(entries.length > 10);
    for (const [p, entry] of entries) {
      assert.equal(entry.version, rootLock.packages[p]!.version, p);
      assert.equal(entry.dev, undefined, `${p} carries no root-graph flags`);
      for (const dep of Object.keys(entry.dependencies ?? {})) assert.ok(resolves(lock.packages, p, dep), `${dep} needed by ${p}`);
    }
  });

  it("holds nothing the functions framework does not need (no Pulumi, no Google clients: those are bundled)", () => {
    const names = Object.keys(lock.packages);
    assert.ok(!names.some((n) => n.includes("@pulumi/") || n.includes("@google-cloud/firestore") || n.includes("esbuild")));
  });

  it("is deterministic text and fails clearly for a package the root lock does not have", () => {
    assert.equal(platformManifest(rootLock, "some-function", PLATFORM_PACKAGES).packageLock, m.packageLock);
    assert.throws(() => platformManifest(rootLock, "f", ["not-a-package-here"]), LockfileError);
    assert.throws(() => platformManifest({ lockfileVersion: 1 }, "f", PLATFORM_PACKAGES), LockfileError);
  });
});

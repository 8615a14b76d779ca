// Section 1: cold start per function. Each run is a fresh Node process serving one function with the
// real functions framework (as the platform does): the time until it listens (loading the code) and
// until it has answered its first request (for an orchestrator: a real completion, so the clients'
// first connection is included), median of several runs. Variants:
// - bundle: the esbuild bundle that is deployed (infra/bundle), alone in a folder whose node_modules
//   holds only the functions framework (the platform installs just that);
// - bundle + compile cache: the same with NODE_COMPILE_CACHE primed by one unmeasured run;
// - unbundled: our code compiled to one file, every dependency loaded from node_modules;
// - floors (once): a bare Node process that loads nothing but node:http, and the framework serving a
//   function that does nothing (what the framework itself costs), and the framework serving a bundled
//   function whose only work is one Firestore transaction (what any function that uses Firestore pays).
// Beside each: the resident memory (RSS) of the process right after its first response.
import { readFile } from "node:fs/promises";
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { loadPipeline } from "../functions/core/pipeline.ts";
import { bundleEntry } from "../infra/bundle/esbuild-bundle.ts";
import { buildFunctionArchive } from "../infra/bundle/function-archive.ts";
import { functionRegistry, type FunctionSpec } from "../infra/function-registry.ts";
import { findFreePort, uniqueName } from "../tools/emulators/emulators.ts";
import type { BenchEnvironment } from "./environment.ts";
import { trackChild, trackTempDir } from "./environment.ts";
import { benchOrchestratorEnv } from "./in-process.ts";
import { benchDate, completionsFor, pushEnvelope } from "./messages.ts";
import { median, ratio } from "./stats.ts";
// The deployed bundle's banner: bundled CommonJS needs require/__dirname in ESM.
import { ESM_CJS_SHIM } from "../infra/bundle/esbuild-bundle.ts";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const FRAMEWORK_MAIN = path.join(ROOT, "node_modules/@google-cloud/functions-framework/build/src/main.js");

export interface ColdSample {
  /** Process spawn to listening (framework printed its URL), ms. */
  loadMs: number;
  /** Process spawn to the first request's answer, ms. */
  firstResponseMs: number;
  /** The first request alone (listening to answered), ms. */
  firstRequestMs: number;
  /** A second, warm request, ms (orchestrators only). */
  warmRequestMs: number | null;
  /** Resident memory right after the first response, MiB (null where /proc is not available). */
  rssMiB: number | null;
  /** CPU time (user + system) the process used until its first response, ms: less sensitive to a busy machine than wall time. */
  cpuMs: number | null;
}

export type ColdMedian = ColdSample & { runs: number };

export const COLD_VARIANTS = ["bundle", "bundleEagerClients", "bundleCompileCache", "bundleMinified", "unbundled"] as const;
export type ColdVariant = (typeof COLD_VARIANTS)[number];

export interface ColdFunctionResult {
  name: string;
  kind: FunctionSpec["kind"];
  bundleBytes: number;
  minifiedBundleBytes: number;
  archiveBytes: number;
  unbundledOwnCodeBytes: number;
  /** "bundle" for every function; the other variants for the first orchestrator only (same code apart from the entry). */
  variants: Partial<Record<ColdVariant, ColdMedian | undefined>>;
  /** firstResponseMs of each variant / the bare Node floor's. */
  vsBareNode: Partial<Record<ColdVariant, number | null>>;
  /** firstResponseMs of each variant / the empty function's on the framework (the cold-start target's floor). */
  vsFramework: Partial<Record<ColdVariant, number | null>>;
}

export interface ColdStartResult {
  floors: { bareNode: ColdMedian; frameworkOnly: ColdMedian; firestoreTransactionOnly: ColdMedian; nodeExit: { ms: number; runs: number } };
  functions: ColdFunctionResult[];
}

interface Launch {
  args: string[];
  env: Record<string, string>;
  /** First request (after listening); resolves when answered. Second call = warm request. */
  request: (url: string) => Promise<void>;
  warm: boolean;
}

async function spawnAndMeasure(launch: Launch, port: number): Promise<ColdSample> {
  const started = performance.now();
  const child = spawn(process.execPath, launch.args, {
    cwd: tmpdir(),
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...launch.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  trackChild(child);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let stderr = "";
  let out = "";
  child.stderr!.setEncoding("utf8").on("data", (c: string) => (stderr += c));
  try {
    const loadMs = await new Promise<number>((resolve, reject) => {
      child.stdout!.setEncoding("utf8").on("data", (c: string) => {
        out += c;
        if (/URL: http/.test(out)) resolve(performance.now() - started);
      });
      child.once("exit", (code) => reject(new Error(`process exited (${code}) before listening: ${stderr.slice(-2000)}`)));
      setTimeout(() => reject(new Error(`not listening after 30 s: ${stderr.slice(-2000)}`)), 30_000).unref();
    });
    const url = `http://127.0.0.1:${port}/`;
    const before = performance.now();
    await launch.request(url).catch((error: unknown) => {
      throw new Error(`${error instanceof Error ? error.message : String(error)}\nits output:\n${out.slice(-3000)}${stderr.slice(-2000)}`);
    });
    const answered = performance.now();
    const firstResponseMs = answered - started;
    const [rssMiB, cpuMs] = await Promise.all([residentMiB(child.pid), cpuTimeMs(child.pid)]);
    let warmRequestMs: number | null = null;
    if (launch.warm) {
      const w = performance.now();
      await launch.request(url);
      warmRequestMs = performance.now() - w;
    }
    return { loadMs, firstResponseMs, firstRequestMs: answered - before, warmRequestMs, rssMiB, cpuMs };
  } finally {
    child.kill("SIGKILL");
    await exited;
  }
}

/** VmRSS of a process (Linux /proc), MiB; null elsewhere. */
async function residentMiB(pid: number | undefined): Promise<number | null> {
  if (pid === undefined) return null;
  const status = await readFile(`/proc/${pid}/status`, "utf8").catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return "";
    throw error;
  });
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(status);
  return kb === null ? null : Number(kb[1]) / 1024;
}

/** utime + stime of a process (Linux /proc, clock ticks of 10 ms), ms; null elsewhere. */
async function cpuTimeMs(pid: number | undefined): Promise<number | null> {
  if (pid === undefined) return null;
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return "";
    throw error;
  });
  // Fields after the command name (which may hold spaces) start after the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return Number.isFinite(ticks) ? ticks * 10 : null;
}

function medianOf(samples: ColdSample[]): ColdMedian {
  const warm = samples.map((s) => s.warmRequestMs).filter((x): x is number => x !== null);
  const rss = samples.map((s) => s.rssMiB).filter((x): x is number => x !== null);
  const cpu = samples.map((s) => s.cpuMs).filter((x): x is number => x !== null);
  return {
    runs: samples.length,
    loadMs: median(samples.map((s) => s.loadMs)),
    firstResponseMs: median(samples.map((s) => s.firstResponseMs)),
    firstRequestMs: median(samples.map((s) => s.firstRequestMs)),
    warmRequestMs: warm.length ? median(warm) : null,
    rssMiB: rss.length ? median(rss) : null,
    cpuMs: cpu.length ? median(cpu) : null,
  };
}

async function repeat(runs: number, make: () => Promise<Launch & { port: number }>): Promise<ColdMedian> {
  const samples: ColdSample[] = [];
  for (let i = 0; i < runs; i++) {
    const launch = await make();
    samples.push(await spawnAndMeasure(launch, launch.port));
  }
  return medianOf(samples);
}

/** One sample of each launcher in turn, `runs` rounds; the median per launcher. */
async function interleaved(runs: number, launchers: Record<string, () => Promise<Launch & { port: number }>>): Promise<Record<string, ColdMedian>> {
  const samples = new Map<string, ColdSample[]>(Object.keys(launchers).map((k) => [k, []]));
  for (let i = 0; i < runs; i++) {
    for (const [name, make] of Object.entries(launchers)) {
      const launch = await make();
      samples.get(name)!.push(await spawnAndMeasure(launch, launch.port));
    }
  }
  return Object.fromEntries([...samples].map(([name, s]) => [name, medianOf(s)]));
}

const frameworkArgs = (source: string, target: string, port: number) => [
  FRAMEWORK_MAIN,
  `--target=${target}`,
  `--source=${source}`,
  `--port=${port}`,
  "--signature-type=http",
];

async function get(url: string): Promise<void> {
  const res = await fetch(url);
  await res.text();
}

/** A folder holding one ESM file and a node_modules link to the project's (only the framework is used by a bundle). */
async function codeFolder(base: string, name: string, code: Uint8Array | string): Promise<string> {
  const dir = path.join(base, name);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, "index.js"), code);
  await writeFile(path.join(dir, "package.json"), JSON.stringify({ type: "module", main: "index.js" }));
  await symlink(path.join(ROOT, "node_modules"), path.join(dir, "node_modules"), "dir");
  return path.join(dir, "index.js");
}

/** A function whose only work is one read-modify-write transaction on one document. */
const FIRESTORE_ONLY_FUNCTION = [
  'import * as functions from "@google-cloud/functions-framework";',
  'import { Firestore } from "@google-cloud/firestore";',
  "const db = new Firestore();",
  'functions.http("tx", async (req, res) => {',
  '  const ref = db.collection("bench_cold_floor").doc(String(process.pid));',
  "  await db.runTransaction(async (tx) => { const snap = await tx.get(ref); tx.set(ref, { n: ((snap.get(\"n\") as number | undefined) ?? 0) + 1 }); });",
  '  res.send("ok");',
  "});",
].join("\n");

async function measureNodeExit(runs: number): Promise<number> {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const child = spawn(process.execPath, ["-e", "0"], { stdio: "ignore" });
    trackChild(child);
    await new Promise((r) => child.once("exit", r));
    samples.push(performance.now() - started);
  }
  return median(samples);
}

export async function measureColdStarts(env: BenchEnvironment, opts: { runs: number; includeScheduled: boolean; smoke: boolean }): Promise<ColdStartResult> {
  const base = await mkdtemp(path.join(tmpdir(), "bench-cold-"));
  trackTempDir(base);
  try {
    const floorFile = path.join(base, "floor.mjs");
    await writeFile(
      floorFile,
      'import { createServer } from "node:http";\nconst port = Number(process.argv[2]);\ncreateServer((q, r) => r.end("ok")).listen(port, () => console.log(`URL: http://localhost:${port}/`));\n',
    );
    const bareNodeLaunch = async () => {
      const port = await findFreePort();
      return { port, args: [floorFile, String(port)], env: {}, request: get, warm: false };
    };
    const helloSource = await codeFolder(
      base,
      "hello",
      'import * as functions from "@google-cloud/functions-framework";\nfunctions.http("hello", (req, res) => { res.send("ok"); });\n',
    );
    const frameworkOnlyLaunch = async () => {
      const port = await findFreePort();
      return { port, args: frameworkArgs(helloSource, "hello", port), env: { NODE_ENV: "test" }, request: get, warm: false };
    };
    const nodeExit = await measureNodeExit(opts.runs);
    const firestoreOnlyBundle = await esbuild.build({
      absWorkingDir: ROOT,
      stdin: { contents: FIRESTORE_ONLY_FUNCTION, resolveDir: ROOT, sourcefile: "firestore-only.ts", loader: "ts" },
      bundle: true,
      platform: "node",
      target: "node22",
      format: "esm",
      banner: { js: ESM_CJS_SHIM },
      external: ["@google-cloud/functions-framework"],
      write: false,
      logLevel: "silent",
    });
    const firestoreOnlySource = await codeFolder(base, "firestore-only", firestoreOnlyBundle.outputFiles[0]!.contents);
    const firestoreOnlyLaunch = async () => {
      const port = await findFreePort();
      const fnEnv = { FIRESTORE_EMULATOR_HOST: env.firestoreHost, GOOGLE_CLOUD_PROJECT: env.projectId, METADATA_SERVER_DETECTION: "none", NODE_ENV: "test" };
      const request = async (url: string) => {
        const res = await fetch(url);
        const text = await res.text();
        if (res.status !== 200) throw new Error(`the Firestore-only function answered ${res.status}: ${text}`);
      };
      return { port, args: frameworkArgs(firestoreOnlySource, "tx", port), env: fnEnv, request, warm: false };
    };
    let floors: Omit<ColdStartResult["floors"], "nodeExit"> | undefined;

    const pipeline = loadPipeline();
    const registry = functionRegistry(pipeline).filter((s) => s.kind === "orchestrator" || opts.includeScheduled);
    const specs = opts.smoke ? registry.slice(0, 1) : registry;
    const functions: ColdFunctionResult[] = [];
    let dateIndex = 0;
    for (const spec of specs) {
      const [bundle, archive] = await Promise.all([bundleEntry(ROOT, spec.entry), buildFunctionArchive({ rootDir: ROOT, name: spec.name, entry: spec.entry })]);
      const ownCode = await esbuild.build({
        absWorkingDir: ROOT,
        entryPoints: [spec.entry],
        bundle: true,
        packages: "external",
        platform: "node",
        target: "node22",
        format: "esm",
        write: false,
        logLevel: "silent",
      });
      const minified = await esbuild.build({
        absWorkingDir: ROOT,
        entryPoints: [spec.entry],
        bundle: true,
        platform: "node",
        target: "node22",
        format: "esm",
        banner: { js: ESM_CJS_SHIM },
        external: ["@google-cloud/functions-framework"],
        minify: true,
        write: false,
        logLevel: "silent",
      });
      const bundleSource = await codeFolder(base, `${spec.name}-bundle`, bundle.code);
      // The same bundle with Pub/Sub and BigQuery evaluated at module load, as before they were created
      // on first use: the A/B of that lever.
      const eager = await esbuild.build({
        absWorkingDir: ROOT,
        stdin: { contents: `import "@google-cloud/pubsub";\nimport "@google-cloud/bigquery";\nexport * from "./${spec.entry}";\n`, resolveDir: ROOT, sourcefile: "eager-entry.ts", loader: "ts" },
        bundle: true,
        platform: "node",
        target: "node22",
        format: "esm",
        banner: { js: ESM_CJS_SHIM },
        external: ["@google-cloud/functions-framework"],
        write: false,
        logLevel: "silent",
      });
      const eagerSource = await codeFolder(base, `${spec.name}-eager`, eager.outputFiles[0]!.contents);
      const minifiedSource = await codeFolder(base, `${spec.name}-minified`, minified.outputFiles[0]!.contents);
      const unbundledSource = await codeFolder(base, `${spec.name}-unbundled`, ownCode.outputFiles[0]!.contents);
      const cacheDir = path.join(base, `${spec.name}-compile-cache`);
      const transition = spec.transitionId === undefined ? undefined : pipeline.transitions.find((t) => t.id === spec.transitionId);

      const launchFor = (source: string, compileCache: boolean) => async (): Promise<Launch & { port: number }> => {
        const port = await findFreePort();
        const prefix = `${uniqueName("bench_cold").replace(/[^A-Za-z0-9_]/g, "_")}_`;
        const fnEnv = {
          ...benchOrchestratorEnv(env, spec.transitionId ?? "phase2-to-phase3", prefix),
          FUNCTION_NAME: spec.name,
          NODE_ENV: "test",
          METADATA_SERVER_DETECTION: "none",
          LOG_LEVEL: "warn",
          ...(compileCache ? { NODE_COMPILE_CACHE: cacheDir } : {}),
        };
        const messages = transition ? completionsFor(transition, benchDate(dateIndex++, 40_000)) : [];
        let next = 0;
        const request = transition
          ? async (url: string) => {
              const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(pushEnvelope(messages[next++ % messages.length])) });
              const text = await res.text();
              if (res.status !== 200) throw new Error(`${spec.name} answered ${res.status} to its first completion: ${text}`);
            }
          : async (url: string) => {
              // A scheduled function's first request would run its job; OPTIONS exercises the loaded handler only.
              const res = await fetch(url, { method: "OPTIONS" });
              await res.text();
            };
        return { port, args: frameworkArgs(source, spec.target, port), env: fnEnv, request, warm: transition !== undefined };
      };
      let variants: Partial<Record<ColdVariant, ColdMedian | undefined>>;
      if (floors === undefined) {
        // The first function is measured side by side with the floors: one sample of each in turn, so
        // the machine's load (shared, busy) weighs on every variant alike.
        const launchers: Record<string, () => Promise<Launch & { port: number }>> = {
          bareNode: bareNodeLaunch,
          frameworkOnly: frameworkOnlyLaunch,
          firestoreTransactionOnly: firestoreOnlyLaunch,
          bundle: launchFor(bundleSource, false),
        };
        if (!opts.smoke) {
          // Prime the compile cache once (not measured).
          const priming = await launchFor(bundleSource, true)();
          await spawnAndMeasure(priming, priming.port);
          Object.assign(launchers, {
            bundleEagerClients: launchFor(eagerSource, false),
            bundleCompileCache: launchFor(bundleSource, true),
            bundleMinified: launchFor(minifiedSource, false),
            unbundled: launchFor(unbundledSource, false),
          });
        }
        const m = await interleaved(opts.runs, launchers);
        floors = { bareNode: m.bareNode!, frameworkOnly: m.frameworkOnly!, firestoreTransactionOnly: m.firestoreTransactionOnly! };
        variants = Object.fromEntries(COLD_VARIANTS.filter((v) => m[v] !== undefined).map((v) => [v, m[v]]));
      } else {
        variants = { bundle: await repeat(opts.runs, launchFor(bundleSource, false)) };
      }
      const { bareNode, frameworkOnly } = floors;
      const vsBareNode: Partial<Record<ColdVariant, number | null>> = {};
      const vsFramework: Partial<Record<ColdVariant, number | null>> = {};
      for (const v of COLD_VARIANTS) {
        const m = variants[v];
        if (m) vsBareNode[v] = ratio(m.firstResponseMs, bareNode.firstResponseMs);
        if (m) vsFramework[v] = ratio(m.firstResponseMs, frameworkOnly.firstResponseMs);
      }
      functions.push({
        name: spec.name,
        kind: spec.kind,
        bundleBytes: bundle.code.byteLength,
        minifiedBundleBytes: minified.outputFiles[0]!.contents.byteLength,
        archiveBytes: archive.bytes,
        unbundledOwnCodeBytes: ownCode.outputFiles[0]!.contents.byteLength,
        variants,
        vsBareNode,
        vsFramework,
      });
    }
    if (floors === undefined) throw new Error("cold start: no function measured");
    return { floors: { ...floors, nodeExit: { ms: nodeExit, runs: opts.runs } }, functions };
  } finally {
    await rm(base, { recursive: true, force: true });
  }
}

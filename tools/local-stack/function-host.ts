// Serves declared functions locally the way the platform runs them: the uploaded archive unpacked
// into a folder, the packages its own package-lock.json lists installed beside it (copied from the
// project's install, so nothing is fetched), and the functions framework of that install started on
// a fixed local port with exactly the environment given. Each function is a child process that can
// be killed (a crash) and restarted on the same port.
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { cp, mkdir, readFile, writeFile } from "node:fs/promises";
import * as path from "node:path";
import { promisify } from "node:util";
import { isPortFree } from "./emulators.ts";
import { PortTakenError } from "./stack-types.ts";

const run = promisify(execFile);
const FRAMEWORK_MAIN = "node_modules/@google-cloud/functions-framework/build/src/main.js";

export interface UnpackedFunction {
  /** Folder holding index.js and package.json (the --source of the framework). */
  dir: string;
  /** The framework's main.js of the installed dependencies. */
  frameworkMain: string;
  sha256: string;
}

/**
 * Unpack one archive under workDir. Archives whose lockfiles list the same packages share one
 * installed node_modules (Node resolves it from the parent folder), so four functions cost one copy.
 */
export async function unpackArchive(rootDir: string, archiveRel: string, name: string, workDir: string): Promise<UnpackedFunction> {
  const zip = await readFile(path.join(rootDir, archiveRel));
  const sha256 = createHash("sha256").update(zip).digest("hex");
  const staging = path.join(workDir, "staging", name);
  await mkdir(staging, { recursive: true });
  await writeFile(path.join(staging, "archive.zip"), zip);
  await run("unzip", ["-q", "-o", "archive.zip", "package-lock.json"], { cwd: staging });
  const lock = JSON.parse(await readFile(path.join(staging, "package-lock.json"), "utf8")) as { packages?: Record<string, { version?: string }> };
  const packages = Object.entries(lock.packages ?? {}).filter(([p]) => p !== "");
  const depsKey = createHash("sha256").update(JSON.stringify(packages)).digest("hex").slice(0, 12);
  const depsDir = path.join(workDir, `deps-${depsKey}`);
  await installOnce(rootDir, depsDir, packages.map(([p]) => p));
  const dir = path.join(depsDir, name);
  await mkdir(dir, { recursive: true });
  await run("unzip", ["-q", "-o", path.join(staging, "archive.zip")], { cwd: dir });
  return { dir, frameworkMain: path.join(depsDir, FRAMEWORK_MAIN), sha256 };
}

const installs = new Map<string, Promise<void>>();

function installOnce(rootDir: string, depsDir: string, lockPaths: string[]): Promise<void> {
  let pending = installs.get(depsDir);
  if (pending === undefined) {
    pending = (async () => {
      for (const lockPath of lockPaths) {
        const from = path.join(rootDir, lockPath);
        // Each package without its nested node_modules: those are lock entries of their own.
        await cp(from, path.join(depsDir, lockPath), {
          recursive: true,
          dereference: true,
          filter: (src) => !path.relative(from, src).split(path.sep).includes("node_modules"),
        });
      }
    })();
    installs.set(depsDir, pending);
  }
  return pending;
}

/** Every function child still running, for the synchronous last-resort cleanup of an exiting process. */
const liveChildren = new Set<ChildProcess>();

/** SIGKILL every function child this process started and that is still running (exit handlers). */
export function killAllFunctionsSync(): void {
  for (const c of liveChildren) c.kill("SIGKILL");
  liveChildren.clear();
}
// Whoever loads this module (the CLIs, a test run that exits with stacks still up) leaves no function behind.
process.on("exit", killAllFunctionsSync);

export interface ServedFunction {
  readonly name: string;
  readonly url: string;
  readonly port: number;
  /** JSON log lines (non-JSON lines as { raw }), newest last. */
  readonly logs: Record<string, unknown>[];
  /** True while a child process is running. */
  running(): boolean;
  /** SIGKILL: nothing gets to clean up (a crashed instance). */
  kill(): Promise<void>;
  /** Start again on the same port with the same environment. */
  restart(): Promise<void>;
  stop(): Promise<void>;
  /** The pid of the current child, for synchronous cleanup. */
  pid(): number | undefined;
}

export interface ServeOptions {
  name: string;
  unpacked: UnpackedFunction;
  target: string;
  port: number;
  env: Record<string, string>;
  /** Called with each log line (parsed) as it arrives. */
  onLog?: (line: Record<string, unknown>) => void;
}

export async function serveFunction(o: ServeOptions): Promise<ServedFunction> {
  const url = `http://127.0.0.1:${o.port}`;
  const logs: Record<string, unknown>[] = [];
  let child: ChildProcess | undefined;
  let stderr = "";

  const start = async (): Promise<void> => {
    stderr = "";
    // The readiness probe below takes any answer on the port: a port someone else took meanwhile (another
    // local stack, while this instance was down) would be taken for this function. Refuse loudly instead.
    if (!(await isPortFree(o.port))) throw new PortTakenError(o.name, o.port);
    const c = spawn(process.execPath, [o.unpacked.frameworkMain, `--target=${o.target}`, `--source=${o.unpacked.dir}`, `--port=${o.port}`, "--signature-type=http"], {
      cwd: o.unpacked.dir,
      env: o.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    child = c;
    liveChildren.add(c);
    c.once("exit", () => liveChildren.delete(c));
    let buffered = "";
    c.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) {
        if (line.trim() === "") continue;
        let parsed: Record<string, unknown>;
        try {
          parsed = JSON.parse(line) as Record<string, unknown>;
        } catch {
          parsed = { raw: line };
        }
        logs.push(parsed);
        o.onLog?.(parsed);
      }
    });
    c.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (c.exitCode !== null || c.signalCode !== null) {
        throw new Error(`function ${o.name} exited (${c.exitCode ?? c.signalCode}) before it listened:\n${stderr.slice(-2000)}`);
      }
      const listening = await fetch(`${url}/__local_stack_ready`, { method: "OPTIONS", signal: AbortSignal.timeout(2000) }).then(
        () => true,
        () => false,
      );
      if (listening) return;
      if (Date.now() > deadline) {
        c.kill("SIGKILL");
        throw new Error(`function ${o.name} did not listen on port ${o.port} within 60 s:\n${stderr.slice(-2000)}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const halt = async (signal: NodeJS.Signals): Promise<void> => {
    const c = child;
    if (c === undefined || c.exitCode !== null || c.signalCode !== null) return;
    const exited = once(c, "exit");
    c.kill(signal);
    const timer = setTimeout(() => c.kill("SIGKILL"), 5000);
    await exited;
    clearTimeout(timer);
  };

  await start();
  return {
    name: o.name,
    url,
    port: o.port,
    logs,
    running: () => child !== undefined && child.exitCode === null && child.signalCode === null,
    kill: () => halt("SIGKILL"),
    restart: async () => {
      await halt("SIGTERM");
      await start();
    },
    stop: () => halt("SIGTERM"),
    pid: () => (child !== undefined && child.exitCode === null && child.signalCode === null ? child.pid : undefined),
  };
}

export interface HealthAnswer {
  status: number;
  body: Record<string, unknown>;
}

export async function getHealth(url: string): Promise<HealthAnswer> {
  const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(20_000) });
  const text = await res.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    body = { raw: text };
  }
  return { status: res.status, body };
}

/**
 * The instances of one function seen as one: killing or restarting the function does it to every
 * instance (a crash of the revision), logs are every instance's, running while any instance runs.
 */
export function instanceGroup(instances: readonly ServedFunction[]): ServedFunction {
  const first = instances[0];
  if (first === undefined) throw new Error("instanceGroup: no instances");
  if (instances.length === 1) return first;
  return {
    name: first.name,
    url: first.url,
    port: first.port,
    get logs() {
      return instances.flatMap((i) => i.logs);
    },
    running: () => instances.some((i) => i.running()),
    kill: async () => {
      await Promise.all(instances.map((i) => i.kill()));
    },
    restart: async () => {
      await Promise.all(instances.map((i) => i.restart()));
    },
    stop: async () => {
      await Promise.all(instances.map((i) => i.stop()));
    },
    pid: () => instances.map((i) => i.pid()).find((p) => p !== undefined),
  };
}

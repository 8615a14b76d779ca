// Starts and stops the real gcloud Firestore and Pub/Sub emulators for tests.
//
// gcloud (a Python process) starts the emulator as a Java child; killing gcloud alone leaves the JVM
// running and holding the port. Each emulator therefore runs in its own process group, and we always
// signal the whole group, then verify the port is free again before anyone reuses it.
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

export type EmulatorKind = "firestore" | "pubsub";

export interface EmulatorHandle {
  kind: EmulatorKind;
  /** "127.0.0.1:PORT", the value for FIRESTORE_EMULATOR_HOST / PUBSUB_EMULATOR_HOST. */
  host: string;
  port: number;
  /** Stops the whole process group (SIGTERM, then SIGKILL after a grace period) and waits for the port to be free. */
  stop(): Promise<void>;
  /** stop() then start again on the same port. The emulators keep data in memory only: all data is lost. */
  restart(): Promise<void>;
}

export interface StartOptions {
  /** Port to listen on; a free one is chosen when omitted. */
  port?: number;
  /** How long to wait for the emulator to answer (default 60 s). */
  startupTimeoutMs?: number;
  /** The gcloud executable (default "gcloud" from PATH); tests of the harness itself point it at fakes. */
  gcloudBinary?: string;
}

const DEFAULT_STARTUP_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;
const PORT_RELEASE_TIMEOUT_MS = 10_000;
const POLL_INTERVAL_MS = 200;
const LOG_TAIL_BYTES = 4_000;
const LOCALHOST = "127.0.0.1";

/** Process groups started here and not yet confirmed gone; killed synchronously if the process exits early. */
const liveProcessGroups = new Set<number>();

export async function startFirestoreEmulator(opts: StartOptions = {}): Promise<EmulatorHandle> {
  return startEmulator(
    {
      kind: "firestore",
      argsFor: (hostPort) => ["emulators", "firestore", "start", `--host-port=${hostPort}`],
      startedMarker: () => /Dev App Server is now running/,
    },
    opts,
  );
}

export async function startPubsubEmulator(
  opts: StartOptions & { projectId?: string } = {},
): Promise<EmulatorHandle> {
  const projectId = opts.projectId ?? process.env.GCLOUD_PROJECT ?? "demo-test";
  return startEmulator(
    {
      kind: "pubsub",
      argsFor: (hostPort) => ["beta", "emulators", "pubsub", "start", `--host-port=${hostPort}`, `--project=${projectId}`],
      startedMarker: (port) => new RegExp(`Server started, listening on ${port}\\b`),
    },
    opts,
  );
}

/**
 * The emulator keeps the locks of a transaction its client abandoned (a commit cut off by a fault) for
 * about a minute, and answers a DELETE that needs them 409 "Transaction lock timeout" after waiting 2 s.
 */
export const ABANDONED_LOCK_EXPIRY_MS = 75_000;

export interface ClearFirestoreOptions {
  /** How long to keep retrying a DELETE answered 409 (locks of an abandoned transaction). Default 0: throw at once. */
  lockWaitMs?: number;
  /** Told once, when the first 409 comes, so a caller can name whoever left the transaction. */
  onLockWait?: (body: string) => void;
}

/** Deletes every document of the project's default database in the Firestore emulator. */
export async function clearFirestore(host: string, projectId: string, opts: ClearFirestoreOptions = {}): Promise<void> {
  const url = `http://${host}/emulator/v1/projects/${encodeURIComponent(projectId)}/databases/(default)/documents`;
  const deadline = Date.now() + (opts.lockWaitMs ?? 0);
  let warned = false;
  for (;;) {
    const response = await fetch(url, { method: "DELETE" });
    if (response.ok) return;
    const body = await response.text();
    if (response.status === 409 && Date.now() < deadline) {
      if (!warned) opts.onLockWait?.(body);
      warned = true;
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      continue;
    }
    throw new Error(`clearFirestore: DELETE ${url} answered ${response.status}: ${body.slice(0, 500)}`);
  }
}

let uniqueNameCounter = 0;

/**
 * A name no other test (or test process) uses, valid as a Pub/Sub topic or subscription id:
 * starts with a letter, only [A-Za-z0-9-_.~+%], 3..255 characters, never starting with "goog".
 */
export function uniqueName(prefix: string): string {
  let safe = prefix.replace(/[^A-Za-z0-9\-_.~+%]/g, "-");
  if (!/^[A-Za-z]/.test(safe) || /^goog/i.test(safe)) safe = `t-${safe}`;
  uniqueNameCounter += 1;
  const suffix = `-${process.pid}-${uniqueNameCounter}-${randomBytes(3).toString("hex")}`;
  return `${safe.slice(0, 255 - suffix.length)}${suffix}`;
}

/** Throws one Error listing everything missing to run the emulators, and how to install it. */
export function requireEmulatorTools(): void {
  const problems = findEmulatorToolProblems(process.env);
  if (problems.length > 0) {
    throw new Error(
      `The tests need the Google Cloud emulators, and this machine lacks:\n- ${problems.join("\n- ")}\n` +
        "(TEST_NO_EMULATORS=1 runs the suites that need no emulator.)",
    );
  }
}

/** Relative to the SDK root; present when the emulator components are installed. */
const EMULATOR_COMPONENTS: ReadonlyArray<{ component: string; dir: string; jarPattern: RegExp }> = [
  { component: "cloud-firestore-emulator", dir: "platform/cloud-firestore-emulator", jarPattern: /\.jar$/ },
  { component: "pubsub-emulator", dir: "platform/pubsub-emulator/lib", jarPattern: /\.jar$/ },
];

/** The problems requireEmulatorTools() would report, for the given environment (PATH). */
export function findEmulatorToolProblems(env: NodeJS.ProcessEnv): string[] {
  const problems: string[] = [];
  const gcloud = findOnPath("gcloud", env.PATH ?? "");
  if (gcloud === undefined) {
    problems.push(
      "gcloud is not on PATH: install the Google Cloud CLI (https://cloud.google.com/sdk/docs/install, " +
        "or apt-get install google-cloud-cli)",
    );
  } else {
    const sdkRoot = findSdkRoot(gcloud, env);
    for (const { component, dir, jarPattern } of EMULATOR_COMPONENTS) {
      const componentDir = sdkRoot === undefined ? undefined : path.join(sdkRoot, dir);
      const installed =
        componentDir !== undefined &&
        fs.existsSync(componentDir) &&
        fs.readdirSync(componentDir).some((file) => jarPattern.test(file));
      if (!installed) {
        problems.push(
          `the gcloud component ${component} is not installed (under ${sdkRoot ?? "the SDK root"}): run ` +
            `"gcloud components install ${component}" or apt-get install google-cloud-cli-${component}`,
        );
      }
    }
  }
  const java = spawnSync("java", ["-version"], { env, encoding: "utf8", timeout: 15_000 });
  if (java.error !== undefined || java.status !== 0) {
    problems.push(
      "java does not run (`java -version` failed): install a Java runtime 11 or newer, e.g. apt-get install openjdk-17-jre-headless",
    );
  }
  return problems;
}

function findOnPath(command: string, searchPath: string): string | undefined {
  for (const dir of searchPath.split(path.delimiter)) {
    if (dir === "") continue;
    const candidate = path.join(dir, command);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch (error) {
      if (!isErrnoException(error) || (error.code !== "ENOENT" && error.code !== "EACCES" && error.code !== "ENOTDIR")) {
        throw error;
      }
    }
  }
  return undefined;
}

/** gcloud normally lives at SDK_ROOT/bin/gcloud (often behind a symlink); `gcloud info` is the slow fallback. */
function findSdkRoot(gcloudPath: string, env: NodeJS.ProcessEnv): string | undefined {
  const fromLayout = path.dirname(path.dirname(fs.realpathSync(gcloudPath)));
  if (fs.existsSync(path.join(fromLayout, "platform"))) return fromLayout;
  const info = spawnSync(gcloudPath, ["info", "--format=value(installation.sdk_root)"], {
    env,
    encoding: "utf8",
    timeout: 30_000,
  });
  const root = info.status === 0 ? info.stdout.trim() : "";
  return root === "" ? undefined : root;
}

// ---------------------------------------------------------------------------------------------
// Process management

interface RunningEmulator {
  pgid: number;
  logFile: string;
}

interface EmulatorSpec {
  kind: EmulatorKind;
  argsFor: (hostPort: string) => string[];
  /**
   * A line our own emulator logs once it listens. Another process (a parallel test run) may take the
   * port between our free-port check and the JVM binding it; its emulator would answer "Ok" too, so
   * an answer counts only together with this line in our log.
   */
  startedMarker: (port: number) => RegExp;
}

/** Attempts with a fresh port when the emulator lost a race for an automatically chosen one. */
const PORT_RACE_ATTEMPTS = 3;

async function startEmulator(spec: EmulatorSpec, opts: StartOptions): Promise<EmulatorHandle> {
  const gcloudBinary = opts.gcloudBinary ?? "gcloud";
  const timeoutMs = opts.startupTimeoutMs ?? DEFAULT_STARTUP_TIMEOUT_MS;
  let port = opts.port ?? (await findFreePort());
  let running: RunningEmulator | undefined;
  for (let attempt = 1; running === undefined; attempt += 1) {
    try {
      running = await launch(spec, gcloudBinary, port, timeoutMs);
    } catch (error) {
      const lostPortRace = error instanceof EmulatorStartError && /address already in use|BindException/i.test(error.logTail);
      if (opts.port !== undefined || !lostPortRace || attempt >= PORT_RACE_ATTEMPTS) throw error;
      port = await findFreePort();
    }
  }

  const hostPort = `${LOCALHOST}:${port}`;
  const handle: EmulatorHandle = {
    kind: spec.kind,
    host: hostPort,
    port,
    async stop() {
      if (running === undefined) return;
      const stopping = running;
      running = undefined;
      await stopProcessGroup(stopping.pgid, port);
      fs.rmSync(stopping.logFile, { force: true });
    },
    async restart() {
      await handle.stop();
      running = await launch(spec, gcloudBinary, port, timeoutMs);
    },
  };
  return handle;
}

class EmulatorStartError extends Error {
  constructor(
    message: string,
    readonly logTail: string,
  ) {
    super(`${message}\nLast lines of the log:\n${logTail}`);
    this.name = "EmulatorStartError";
  }
}

/** Spawns gcloud in its own process group and waits until the emulator answers "Ok" over HTTP. */
async function launch(spec: EmulatorSpec, gcloudBinary: string, port: number, timeoutMs: number): Promise<RunningEmulator> {
  const { kind } = spec;
  const args = spec.argsFor(`${LOCALHOST}:${port}`);
  if (!(await isPortFree(port))) {
    throw new Error(`${kind} emulator: port ${port} on ${LOCALHOST} is already in use`);
  }
  const logFile = path.join(logDirectory(), `${kind}-${port}-${Date.now()}.log`);
  const logFd = fs.openSync(logFile, "a");
  const child = spawn(gcloudBinary, args, {
    detached: true,
    stdio: ["ignore", logFd, logFd],
    env: { ...process.env, CLOUDSDK_CORE_DISABLE_PROMPTS: "1" },
  });
  fs.closeSync(logFd);

  const spawnFailure = new Promise<Error>((resolve) => child.once("error", resolve));
  const earlyExit = new Promise<string>((resolve) =>
    child.once("exit", (code, signal) => resolve(`exited early (code ${code}, signal ${signal})`)),
  );
  const spawned = await Promise.race([
    new Promise<true>((resolve) => child.once("spawn", () => resolve(true))),
    spawnFailure,
  ]);
  if (spawned !== true || child.pid === undefined) {
    throw new Error(`${kind} emulator: could not run ${gcloudBinary}: ${String(spawned)}`);
  }
  const pgid = child.pid;
  liveProcessGroups.add(pgid);

  const marker = spec.startedMarker(port);
  const outcome = await Promise.race([
    waitUntilReady(`http://${LOCALHOST}:${port}/`, () => marker.test(fs.readFileSync(logFile, "utf8")), timeoutMs),
    earlyExit,
  ]);
  if (outcome === true) return { pgid, logFile };

  // Started badly: take down whatever it left behind before reporting, so the port is usable again.
  const reason = outcome === false ? `did not answer within ${timeoutMs} ms` : outcome;
  await stopProcessGroup(pgid, port);
  throw new EmulatorStartError(
    `${kind} emulator on port ${port} ${reason} (command: ${gcloudBinary} ${args.join(" ")}; log ${logFile}).`,
    readTail(logFile),
  );
}

/** Resolves true once our log shows the emulator listening and GET url answers 200 "Ok"; false after timeoutMs. */
async function waitUntilReady(url: string, loggedStart: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (loggedStart() && (await answersOk(url))) return true;
    await sleep(POLL_INTERVAL_MS);
  }
  return false;
}

async function answersOk(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    const body = await response.text();
    return response.ok && body.trim() === "Ok";
  } catch (error) {
    // Not listening yet (refused) or not answering yet (timeout): keep polling until the deadline.
    if (error instanceof TypeError || (error instanceof DOMException && error.name === "TimeoutError")) return false;
    throw error;
  }
}

/** SIGTERM to the whole group, SIGKILL after a grace period, then insist that the port is free. */
async function stopProcessGroup(pgid: number, port: number): Promise<void> {
  signalGroup(pgid, "SIGTERM");
  if (!(await waitFor(() => !groupExists(pgid), STOP_GRACE_MS))) {
    signalGroup(pgid, "SIGKILL");
    if (!(await waitFor(() => !groupExists(pgid), STOP_GRACE_MS))) {
      throw new Error(`emulator process group ${pgid} survived SIGKILL`);
    }
  }
  liveProcessGroups.delete(pgid);
  if (!(await waitForAsync(() => isPortFree(port), PORT_RELEASE_TIMEOUT_MS))) {
    throw new Error(`emulator process group ${pgid} is gone but port ${port} is still in use`);
  }
}

/** Sends a signal to a process group; false when the group no longer exists. */
function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    if (isErrnoException(error) && error.code === "ESRCH") return false;
    throw error;
  }
}

function groupExists(pgid: number): boolean {
  return signalGroup(pgid, 0);
}

/** Used by the exit/signal handlers: nothing asynchronous can run there, so SIGKILL right away. */
export function killAllEmulatorsSync(): void {
  for (const pgid of liveProcessGroups) {
    try {
      signalGroup(pgid, "SIGKILL");
    } catch (error) {
      // The process is going down; report instead of throwing from an exit handler.
      process.stderr.write(`emulators: could not kill process group ${pgid}: ${String(error)}\n`);
    }
    liveProcessGroups.delete(pgid);
  }
}

/** Process groups this process started and has not stopped (exposed for the harness's own tests). */
export function liveEmulatorProcessGroups(): number[] {
  return [...liveProcessGroups];
}

process.on("exit", killAllEmulatorsSync);
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  const onSignal = (): void => {
    killAllEmulatorsSync();
    process.removeListener(signal, onSignal);
    // Keep the default behaviour (terminate by this signal) unless someone else handles it.
    if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  };
  process.on(signal, onSignal);
}

// ---------------------------------------------------------------------------------------------
// Small helpers

let logDir: string | undefined;
function logDirectory(): string {
  logDir ??= fs.mkdtempSync(path.join(os.tmpdir(), "emulator-logs-"));
  return logDir;
}

function readTail(file: string): string {
  const text = fs.readFileSync(file, "utf8");
  return text.slice(-LOG_TAIL_BYTES);
}

/** One free port on 127.0.0.1, already released: for a single listener started right away (several: reserveFreePorts). */
export async function findFreePort(): Promise<number> {
  const reservation = await reserveFreePorts(1);
  await reservation.release();
  return reservation.ports[0] as number;
}

export interface PortReservation {
  readonly ports: readonly number[];
  /** Frees the ports for whoever is to listen on them. */
  release(): Promise<void>;
}

/**
 * n distinct free ports on 127.0.0.1, held until release(): the OS hands none of them to anyone else
 * meanwhile (findFreePort called n times can hand one out twice: a port closed by one call is free for
 * the next, or for a listener started in between).
 */
export async function reserveFreePorts(n: number): Promise<PortReservation> {
  const servers: net.Server[] = [];
  const release = () => Promise.all(servers.filter((s) => s.listening).map((server) => new Promise<void>((resolve) => server.close(() => resolve())))).then(() => undefined);
  try {
    for (let i = 0; i < n; i++) {
      const server = net.createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(0, LOCALHOST, resolve);
      });
    }
    const ports = servers.map((server) => {
      const address = server.address();
      if (address === null || typeof address === "string") throw new Error("could not determine a free port");
      return address.port;
    });
    return { ports, release };
  } catch (error) {
    await release();
    throw error;
  }
}

/** True when nothing listens on 127.0.0.1:port (we can bind it ourselves). */
export async function isPortFree(port: number): Promise<boolean> {
  const server = net.createServer();
  const bound = await new Promise<boolean>((resolve, reject) => {
    server.once("error", (error) => {
      if (isErrnoException(error) && error.code === "EADDRINUSE") resolve(false);
      else reject(error);
    });
    server.listen(port, LOCALHOST, () => resolve(true));
  });
  if (bound) await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
  return bound;
}

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  return waitForAsync(async () => condition(), timeoutMs);
}

async function waitForAsync(condition: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(POLL_INTERVAL_MS / 2);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function isErrnoException(error: unknown): error is NodeJS.ErrnoException {
  return error instanceof Error && "code" in error;
}

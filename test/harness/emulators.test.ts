// The emulator harness itself: tool checks, names, clearFirestore, and above all that no emulator
// process (the JVM that gcloud starts) outlives a stop(), a failed start, or the test process.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import fc from "fast-check";
import {
  clearFirestore,
  findEmulatorToolProblems,
  findFreePort,
  isPortFree,
  liveEmulatorProcessGroups,
  requireEmulatorTools,
  startFirestoreEmulator,
  startPubsubEmulator,
  uniqueName,
} from "../../tools/emulators/emulators.ts";

const FIXTURE = path.join(import.meta.dirname, "fixtures", "start-and-hold.ts");

function groupExists(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw error;
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw error;
  }
}

/** Java processes in a process group (pgrep exits 1 when there are none). */
function javaProcessesIn(pgid: number): string[] {
  try {
    return execFileSync("pgrep", ["-g", String(pgid), "java"], { encoding: "utf8" }).trim().split("\n");
  } catch (error) {
    if ((error as { status?: number }).status === 1) return [];
    throw error;
  }
}

async function eventually(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return true;
}

function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

function writeExecutable(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text, { mode: 0o755 });
}

async function answersOk(port: number): Promise<boolean> {
  const response = await fetch(`http://127.0.0.1:${port}/`);
  return response.ok && (await response.text()).trim() === "Ok";
}

describe("emulators harness", function () {
  describe("requireEmulatorTools / findEmulatorToolProblems", () => {
    it("names gcloud and java when neither is on PATH", () => {
      const emptyBin = tempDir("no-tools-");
      const problems = findEmulatorToolProblems({ PATH: emptyBin });
      assert.equal(problems.length, 2, problems.join("\n"));
      assert.match(problems[0] ?? "", /gcloud is not on PATH.*install the Google Cloud CLI/);
      assert.match(problems[1] ?? "", /java does not run.*openjdk/);
    });

    it("names each missing emulator component of an SDK without them", () => {
      const sdk = tempDir("fake-sdk-");
      writeExecutable(path.join(sdk, "bin", "gcloud"), "#!/bin/sh\nexit 1\n");
      fs.mkdirSync(path.join(sdk, "platform", "cloud-firestore-emulator"), { recursive: true });
      const pathWithFakeGcloud = `${path.join(sdk, "bin")}${path.delimiter}${process.env.PATH ?? ""}`;

      const bothMissing = findEmulatorToolProblems({ PATH: pathWithFakeGcloud });
      assert.equal(bothMissing.length, 2, bothMissing.join("\n"));
      assert.match(bothMissing[0] ?? "", /cloud-firestore-emulator is not installed.*gcloud components install/);
      assert.match(bothMissing[1] ?? "", /pubsub-emulator is not installed/);

      fs.writeFileSync(path.join(sdk, "platform", "cloud-firestore-emulator", "cloud-firestore-emulator.jar"), "");
      const pubsubMissing = findEmulatorToolProblems({ PATH: pathWithFakeGcloud });
      assert.deepEqual(
        pubsubMissing.map((problem) => problem.split(" is not installed")[0]),
        ["the gcloud component pubsub-emulator"],
      );
    });

    it("finds nothing missing on this machine", function () {
      if (process.env.TEST_NO_EMULATORS === "1") this.skip();
      assert.deepEqual(findEmulatorToolProblems(process.env), []);
      requireEmulatorTools();
    });
  });

  describe("uniqueName", () => {
    const validPubsubId = /^[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}$/;

    it("gives valid, distinct Pub/Sub ids for any prefix", () => {
      fc.assert(
        fc.property(fc.string({ maxLength: 300 }), (prefix) => {
          const first = uniqueName(prefix);
          const second = uniqueName(prefix);
          assert.match(first, validPubsubId);
          assert.ok(!/^goog/i.test(first), first);
          assert.notEqual(first, second);
        }),
      );
    });

    it("keeps a valid prefix readable at the start", () => {
      assert.ok(uniqueName("phase2-topic").startsWith("phase2-topic-"));
      assert.ok(uniqueName("").length >= 3);
    });
  });

  describe("clearFirestore against a fake", () => {
    let server: http.Server;
    let status = 200;
    let statuses: number[] = [];
    const seen: Array<{ method: string; url: string }> = [];

    beforeEach(async () => {
      seen.length = 0;
      statuses = [];
      server = http.createServer((req, res) => {
        seen.push({ method: req.method ?? "", url: req.url ?? "" });
        const answer = statuses.shift() ?? status;
        res.writeHead(answer).end(answer === 200 ? "{}" : answer === 409 ? "Transaction lock timeout." : "unavailable");
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    });
    afterEach(async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });

    it("sends DELETE to the emulator's documents endpoint of the project", async () => {
      status = 200;
      await clearFirestore(`127.0.0.1:${(server.address() as AddressInfo).port}`, "demo-x");
      assert.deepEqual(seen, [{ method: "DELETE", url: "/emulator/v1/projects/demo-x/databases/(default)/documents" }]);
    });

    it("throws on a 503 answer, with status and body", async () => {
      status = 503;
      await assert.rejects(
        clearFirestore(`127.0.0.1:${(server.address() as AddressInfo).port}`, "demo-x"),
        /answered 503: unavailable/,
      );
    });

    it("waits out 409 answers (locks of an abandoned transaction) within lockWaitMs, telling the caller once", async () => {
      statuses = [409, 409];
      status = 200;
      const told: string[] = [];
      await clearFirestore(`127.0.0.1:${(server.address() as AddressInfo).port}`, "demo-x", { lockWaitMs: 10_000, onLockWait: (body) => told.push(body) });
      assert.equal(seen.length, 3);
      assert.deepEqual(told, ["Transaction lock timeout."]);
    });

    it("throws a 409 at once without lockWaitMs, and once lockWaitMs has passed", async () => {
      status = 409;
      const port = (server.address() as AddressInfo).port;
      await assert.rejects(clearFirestore(`127.0.0.1:${port}`, "demo-x"), /answered 409: Transaction lock timeout/);
      assert.equal(seen.length, 1);
      const started = Date.now();
      await assert.rejects(clearFirestore(`127.0.0.1:${port}`, "demo-x", { lockWaitMs: 1_500 }), /answered 409/);
      assert.ok(Date.now() - started >= 1_500, "kept asking until the bound had passed");
    });
  });

  describe("startup failures (fake gcloud)", function () {
    // A hang guard: the startup bounds below wait out real timeouts, slower on a busy machine.
    this.timeout(120_000);
    it("reports an early exit with the tail of the emulator's log", async () => {
      const fake = path.join(tempDir("fake-gcloud-"), "gcloud");
      writeExecutable(fake, '#!/bin/sh\necho "ERROR: (gcloud) component not installed: $*"\nexit 2\n');
      await assert.rejects(startFirestoreEmulator({ gcloudBinary: fake }), (error: Error) => {
        assert.match(error.message, /firestore emulator on port \d+ exited early \(code 2/);
        assert.match(error.message, /component not installed: emulators firestore start --host-port=127\.0\.0\.1:\d+/);
        return true;
      });
    });

    it("on timeout, kills everything the command started and reports the log tail", async () => {
      const dir = tempDir("fake-gcloud-");
      const fake = path.join(dir, "gcloud");
      const childPidFile = path.join(dir, "child.pid");
      // Like gcloud: a child (here `sleep`, there the JVM) that would survive the parent being killed.
      writeExecutable(fake, `#!/bin/sh\nsleep 300 &\necho $! > ${childPidFile}\necho "still warming up"\nwait\n`);
      const before = liveEmulatorProcessGroups();
      // Long enough for the fake to have started its child and logged, however busy the machine.
      await assert.rejects(
        startPubsubEmulator({ gcloudBinary: fake, startupTimeoutMs: 10_000 }),
        /did not answer within 10000 ms[\s\S]*still warming up/,
      );
      const orphan = Number(fs.readFileSync(childPidFile, "utf8"));
      assert.ok(orphan > 0);
      assert.ok(await eventually(() => !processExists(orphan), 30_000), `child ${orphan} survived`);
      assert.deepEqual(liveEmulatorProcessGroups(), before);
    });

    it("does not take an \"Ok\" from someone else's server on the port for its own emulator", async () => {
      // The fake answers "Ok" on the port, like a parallel run's emulator that won the port, but never
      // logs the line our own emulator logs once it listens.
      const fake = path.join(tempDir("fake-gcloud-"), "gcloud");
      const okServer =
        "const [h, p] = process.argv.find((a) => a.startsWith('--host-port=')).split('=')[1].split(':');" +
        "require('http').createServer((q, r) => r.end('Ok')).listen(Number(p), h)";
      writeExecutable(fake, `#!/bin/sh\nexec ${process.execPath} -e "${okServer}" -- "$@"\n`);
      await assert.rejects(
        startFirestoreEmulator({ gcloudBinary: fake, startupTimeoutMs: 2_000 }),
        /did not answer within 2000 ms/,
      );
    });

    it("retries on a fresh port when an automatically chosen one was taken first, and only then", async () => {
      const dir = tempDir("fake-gcloud-");
      const fake = path.join(dir, "gcloud");
      const attemptsFile = path.join(dir, "attempts");
      writeExecutable(
        fake,
        `#!/bin/sh\nfor a in "$@"; do case "$a" in --host-port=*) echo "$a" >> ${attemptsFile};; esac; done\necho "java.net.BindException: Address already in use"\nexit 1\n`,
      );
      const attempts = (): string[] => fs.readFileSync(attemptsFile, "utf8").trim().split("\n");

      await assert.rejects(startPubsubEmulator({ gcloudBinary: fake }), /exited early[\s\S]*BindException/);
      assert.equal(attempts().length, 3);
      assert.equal(new Set(attempts()).size, 3, "each attempt on a new port");

      fs.rmSync(attemptsFile);
      const port = await findFreePort();
      await assert.rejects(startPubsubEmulator({ gcloudBinary: fake, port }), /BindException/);
      assert.deepEqual(attempts(), [`--host-port=127.0.0.1:${port}`], "a port the caller chose is not swapped");
    });

    it("refuses a port that is already taken", async () => {
      const blocker = net.createServer();
      await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
      const port = (blocker.address() as AddressInfo).port;
      try {
        await assert.rejects(startFirestoreEmulator({ port }), new RegExp(`port ${port} on 127.0.0.1 is already in use`));
      } finally {
        await new Promise<void>((resolve) => blocker.close(() => resolve()));
      }
    });
  });

  describe("real emulators, started and stopped here", function () {
    this.timeout(120_000);
    before(function () {
      if (process.env.TEST_NO_EMULATORS === "1") this.skip();
    });

    it("stop() ends the JVM with its gcloud parent and frees the port", async () => {
      const before = new Set(liveEmulatorProcessGroups());
      const emulator = await startPubsubEmulator();
      const pgid = liveEmulatorProcessGroups().find((group) => !before.has(group));
      assert.ok(pgid !== undefined);
      assert.equal(emulator.kind, "pubsub");
      assert.equal(emulator.host, `127.0.0.1:${emulator.port}`);
      assert.ok(await answersOk(emulator.port));
      assert.ok(javaProcessesIn(pgid).length >= 1, "the emulator's JVM runs in the group");

      await emulator.stop();
      assert.equal(groupExists(pgid), false);
      assert.equal(await isPortFree(emulator.port), true);
      assert.ok(!liveEmulatorProcessGroups().includes(pgid));
      await emulator.stop(); // stopping twice is harmless
    });

    it("restart() comes back on the same port with the data gone", async () => {
      const emulator = await startFirestoreEmulator();
      try {
        const documentUrl = `http://${emulator.host}/v1/projects/demo-restart/databases/(default)/documents/c/d`;
        const written = await fetch(documentUrl, {
          method: "PATCH",
          headers: { "content-type": "application/json", authorization: "Bearer owner" },
          body: JSON.stringify({ fields: { x: { integerValue: "1" } } }),
        });
        assert.equal(written.status, 200);
        assert.equal((await fetch(documentUrl, { headers: { authorization: "Bearer owner" } })).status, 200);

        const port = emulator.port;
        await emulator.restart();
        assert.equal(emulator.port, port);
        assert.ok(await answersOk(port));
        assert.equal((await fetch(documentUrl, { headers: { authorization: "Bearer owner" } })).status, 404);
      } finally {
        await emulator.stop();
      }
      assert.equal(await isPortFree(emulator.port), true);
    });

    for (const ending of ["hold", "exit", "throw"] as const) {
      it(`leaves no JVM behind when the test process ends (${ending === "hold" ? "SIGINT" : ending})`, async () => {
        const child = spawn(process.execPath, ["--import", "tsx", FIXTURE, ending], {
          stdio: ["ignore", "pipe", "pipe"],
        });
        let stderr = "";
        child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
        const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
          child.once("exit", (code, signal) => resolve({ code, signal })),
        );
        const started = await new Promise<{ pgid: number; port: number }>((resolve, reject) => {
          let stdout = "";
          child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
            stdout += chunk;
            const line = stdout.split("\n")[0];
            if (stdout.includes("\n") && line !== undefined) resolve(JSON.parse(line) as { pgid: number; port: number });
          });
          void exited.then(() => reject(new Error(`fixture ended before starting: ${stderr}`)));
        });
        assert.ok(javaProcessesIn(started.pgid).length >= 1);

        if (ending === "hold") child.kill("SIGINT");
        const { code, signal } = await exited;
        if (ending === "hold") assert.equal(signal, "SIGINT");
        if (ending === "exit") assert.equal(code, 0);
        if (ending === "throw") {
          assert.equal(code, 1);
          assert.match(stderr, /uncaught on purpose/);
        }
        assert.ok(await eventually(() => !groupExists(started.pgid), 10_000), "the emulator's process group survived");
        assert.ok(await isPortFree(started.port));
      });
    }
  });
});

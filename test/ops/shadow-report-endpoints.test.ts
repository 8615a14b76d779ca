// Where `npm run shadow:report` reads from: the local emulators when FIRESTORE_EMULATOR_HOST and
// PUBSUB_EMULATOR_HOST are both set (as the Google clients read them), Google Cloud when neither is;
// one without the other is refused before anything is read. Reading the real emulators is in
// test/local-stack/shadow.test.ts.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { describeEndpoints, EndpointError, endpointsFromEnv } from "../../tools/shadow-report/endpoints.ts";

const REPO = path.resolve(import.meta.dirname, "../..");

function runReport(args: string[], env: Record<string, string | undefined>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env };
  delete childEnv.FIRESTORE_EMULATOR_HOST;
  delete childEnv.PUBSUB_EMULATOR_HOST;
  for (const [k, v] of Object.entries(env)) if (v !== undefined) childEnv[k] = v;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(REPO, "tools/shadow-report.ts"), ...args], { cwd: REPO, env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("shadow:report: which endpoints it reads", function () {
  this.timeout(120_000);

  it("both emulator variables: the emulators; neither: Google Cloud; one alone or a bad host: refused", () => {
    assert.deepEqual(endpointsFromEnv({ FIRESTORE_EMULATOR_HOST: "127.0.0.1:8080", PUBSUB_EMULATOR_HOST: "localhost:8085" }), {
      firestoreEmulatorHost: "127.0.0.1:8080",
      pubsubEmulatorHost: "localhost:8085",
    });
    assert.deepEqual(endpointsFromEnv({}), { firestoreEmulatorHost: undefined, pubsubEmulatorHost: undefined });
    assert.deepEqual(endpointsFromEnv({ FIRESTORE_EMULATOR_HOST: " ", PUBSUB_EMULATOR_HOST: "" }), { firestoreEmulatorHost: undefined, pubsubEmulatorHost: undefined });
    assert.throws(() => endpointsFromEnv({ FIRESTORE_EMULATOR_HOST: "127.0.0.1:8080" }), /FIRESTORE_EMULATOR_HOST is set but PUBSUB_EMULATOR_HOST is not/);
    assert.throws(() => endpointsFromEnv({ PUBSUB_EMULATOR_HOST: "127.0.0.1:8085" }), /PUBSUB_EMULATOR_HOST is set but FIRESTORE_EMULATOR_HOST is not/);
    assert.throws(() => endpointsFromEnv({ FIRESTORE_EMULATOR_HOST: "http://127.0.0.1:8080", PUBSUB_EMULATOR_HOST: "127.0.0.1:8085" }), EndpointError);
    assert.equal(describeEndpoints(endpointsFromEnv({}), "p"), "Google Cloud project p (Application Default Credentials)");
    assert.equal(
      describeEndpoints(endpointsFromEnv({ FIRESTORE_EMULATOR_HOST: "127.0.0.1:1", PUBSUB_EMULATOR_HOST: "127.0.0.1:2" }), "p"),
      "emulators for project p: Firestore 127.0.0.1:1, Pub/Sub 127.0.0.1:2",
    );
  });

  it("the CLI refuses one emulator variable without the other (exit 2) before reading anything", async () => {
    const r = await runReport(["--stack", "dev"], { FIRESTORE_EMULATOR_HOST: "127.0.0.1:9" });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /FIRESTORE_EMULATOR_HOST is set but PUBSUB_EMULATOR_HOST is not/);
    assert.equal(r.stdout, "");
  });

  it("--help says where it reads from; a bad --until is a usage error", async () => {
    const help = await runReport(["--help"], {});
    assert.equal(help.code, 0);
    assert.match(help.stdout, /FIRESTORE_EMULATOR_HOST and PUBSUB_EMULATOR_HOST/);
    const bad = await runReport(["--stack", "dev", "--until", "yesterday"], {});
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--until must be a date/);
  });
});

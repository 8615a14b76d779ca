// Mocha global fixtures (loaded through .mocharc.json "require"): one Firestore and one Pub/Sub emulator
// for the whole run, their hosts in the environment the Google clients read, and a clean Firestore
// before every test. TEST_NO_EMULATORS=1 skips all of it for pure-only runs.
import {
  ABANDONED_LOCK_EXPIRY_MS,
  clearFirestore,
  requireEmulatorTools,
  startFirestoreEmulator,
  startPubsubEmulator,
  type EmulatorHandle,
} from "../../tools/emulators/emulators.ts";

export const TEST_PROJECT_ID = "demo-test";

export interface SharedEmulators {
  firestore: EmulatorHandle;
  pubsub: EmulatorHandle;
  projectId: string;
}

let shared: { firestore: EmulatorHandle; pubsub: EmulatorHandle } | undefined;

export function emulatorsDisabled(): boolean {
  return process.env.TEST_NO_EMULATORS === "1";
}

/**
 * The emulators every test shares. Their stop()/restart() throw: stopping them would break every later
 * test. A test that needs an emulator to fail starts its own (emulators.ts) or goes through tcp-proxy.ts.
 */
export function sharedEmulators(): SharedEmulators {
  if (shared === undefined) {
    throw new Error(
      emulatorsDisabled()
        ? "sharedEmulators(): TEST_NO_EMULATORS=1 is set, so no emulators were started"
        : "sharedEmulators(): the emulators are not running (is test/harness/global-fixtures.ts in .mocharc.json \"require\"?)",
    );
  }
  return { firestore: guarded(shared.firestore), pubsub: guarded(shared.pubsub), projectId: TEST_PROJECT_ID };
}

function guarded(handle: EmulatorHandle): EmulatorHandle {
  const refuse = async (): Promise<void> => {
    throw new Error(`the shared ${handle.kind} emulator must not be stopped by a test; start your own with emulators.ts`);
  };
  return { kind: handle.kind, host: handle.host, port: handle.port, stop: refuse, restart: refuse };
}

export async function mochaGlobalSetup(): Promise<void> {
  if (emulatorsDisabled()) return;
  requireEmulatorTools();
  const started = await Promise.allSettled([
    startFirestoreEmulator(),
    startPubsubEmulator({ projectId: TEST_PROJECT_ID }),
  ]);
  const [firestore, pubsub] = started;
  if (firestore?.status !== "fulfilled" || pubsub?.status !== "fulfilled") {
    // Do not leave the one that did start running; then report every startup failure.
    await Promise.all(started.map((result) => (result.status === "fulfilled" ? result.value.stop() : undefined)));
    const reasons = started.flatMap((result) => (result.status === "rejected" ? [result.reason] : []));
    throw new AggregateError(reasons, `emulator startup failed:\n${reasons.map(String).join("\n")}`);
  }
  shared = { firestore: firestore.value, pubsub: pubsub.value };
  process.env.FIRESTORE_EMULATOR_HOST = shared.firestore.host;
  process.env.PUBSUB_EMULATOR_HOST = shared.pubsub.host;
  process.env.GCLOUD_PROJECT = TEST_PROJECT_ID;
  process.env.GOOGLE_CLOUD_PROJECT = TEST_PROJECT_ID;
  // Without this, google-auth-library probes the GCE metadata server (seconds of timeouts, warnings).
  process.env.METADATA_SERVER_DETECTION ??= "none";
}

export async function mochaGlobalTeardown(): Promise<void> {
  if (shared === undefined) return;
  const { firestore, pubsub } = shared;
  shared = undefined;
  await Promise.all([firestore.stop(), pubsub.stop()]);
}

let lastTestTitle = "(none yet)";

export const mochaHooks = {
  async beforeEach(this: Mocha.Context): Promise<void> {
    if (shared === undefined) return;
    // A test that abandons a transaction on the shared emulator makes this wait up to a minute: say who.
    this.timeout(ABANDONED_LOCK_EXPIRY_MS + 30_000);
    await clearFirestore(shared.firestore.host, TEST_PROJECT_ID, {
      lockWaitMs: ABANDONED_LOCK_EXPIRY_MS,
      onLockWait: () =>
        process.stderr.write(
          `warning: the shared Firestore emulator holds locks of an abandoned transaction; waiting for them to expire. ` +
            `Last test before: "${lastTestTitle}". A test that cuts Firestore off mid-transaction should run its own emulator.\n`,
        ),
    });
  },
  afterEach(this: Mocha.Context): void {
    lastTestTitle = this.currentTest?.fullTitle() ?? lastTestTitle;
  },
};

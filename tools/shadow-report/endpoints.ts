// Where the shadow report reads from, made explicit. Like the Google clients, it follows
// FIRESTORE_EMULATOR_HOST and PUBSUB_EMULATOR_HOST; unlike them, it refuses one without the other
// (the two sides would come from different places: emulator phase state against cloud taps) and it
// says which it reads, so a report of the local emulators is never mistaken for one of the cloud.
// Pure.

export interface ReportEndpoints {
  /** host:port of the Firestore emulator; undefined: Google Cloud (Application Default Credentials). */
  firestoreEmulatorHost: string | undefined;
  /** host:port of the Pub/Sub emulator; undefined: Google Cloud. */
  pubsubEmulatorHost: string | undefined;
}

export class EndpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EndpointError";
  }
}

const HOST_PORT = /^[A-Za-z0-9.-]+:\d{1,5}$|^\[[0-9a-fA-F:]+\]:\d{1,5}$/;

/** The endpoints the environment names; throws EndpointError when only one is set or one is not host:port. */
export function endpointsFromEnv(env: Readonly<Record<string, string | undefined>>): ReportEndpoints {
  const firestore = env.FIRESTORE_EMULATOR_HOST?.trim() || undefined;
  const pubsub = env.PUBSUB_EMULATOR_HOST?.trim() || undefined;
  if ((firestore === undefined) !== (pubsub === undefined)) {
    const [set, unset] = firestore !== undefined ? ["FIRESTORE_EMULATOR_HOST", "PUBSUB_EMULATOR_HOST"] : ["PUBSUB_EMULATOR_HOST", "FIRESTORE_EMULATOR_HOST"];
    throw new EndpointError(`${set} is set but ${unset} is not: set both (local emulators) or neither (Google Cloud), so both sides are read from one place`);
  }
  for (const [name, value] of [["FIRESTORE_EMULATOR_HOST", firestore], ["PUBSUB_EMULATOR_HOST", pubsub]] as const) {
    if (value !== undefined && !HOST_PORT.test(value)) throw new EndpointError(`${name}=${JSON.stringify(value)} is not host:port`);
  }
  return { firestoreEmulatorHost: firestore, pubsubEmulatorHost: pubsub };
}

/** One line for people and a value for the JSON document: what the report read. */
export function describeEndpoints(e: ReportEndpoints, projectId: string): string {
  return e.firestoreEmulatorHost === undefined
    ? `Google Cloud project ${projectId} (Application Default Credentials)`
    : `emulators for project ${projectId}: Firestore ${e.firestoreEmulatorHost}, Pub/Sub ${e.pubsubEmulatorHost!}`;
}

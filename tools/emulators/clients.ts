// Real Google clients aimed at a given emulator host, e.g. a tcp-proxy in front of the shared emulator
// or an emulator a test started itself, instead of the *_EMULATOR_HOST of the environment.
import { Firestore, type Settings } from "@google-cloud/firestore";
import { PubSub } from "@google-cloud/pubsub";

/**
 * A Firestore client for the emulator at host ("127.0.0.1:PORT"). The client gives
 * FIRESTORE_EMULATOR_HOST precedence over its settings and reads it only in the constructor,
 * so the variable is pointed at host for exactly that call.
 */
export function firestoreAt(host: string, projectId: string, settings: Settings = {}): Firestore {
  const previous = process.env.FIRESTORE_EMULATOR_HOST;
  process.env.FIRESTORE_EMULATOR_HOST = host;
  try {
    return new Firestore({ ...settings, projectId });
  } finally {
    if (previous === undefined) delete process.env.FIRESTORE_EMULATOR_HOST;
    else process.env.FIRESTORE_EMULATOR_HOST = previous;
  }
}

/** A Pub/Sub client for the emulator at host; apiEndpoint wins over PUBSUB_EMULATOR_HOST. */
export function pubsubAt(host: string, projectId: string): PubSub {
  return new PubSub({ projectId, apiEndpoint: host });
}

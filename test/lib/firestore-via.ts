// Test util: a Firestore client that talks to host:port (e.g. a fault-injecting TCP proxy) even though
// the global fixture set FIRESTORE_EMULATOR_HOST, which the client otherwise prefers over its settings
// (@google-cloud/firestore validateAndApplySettings). ssl:false makes it send "Bearer owner" (emulator admin).
import { Firestore } from "@google-cloud/firestore";

export function firestoreVia(port: number, projectId: string): Firestore {
  const saved = process.env.FIRESTORE_EMULATOR_HOST;
  delete process.env.FIRESTORE_EMULATOR_HOST;
  try {
    return new Firestore({ projectId, host: "127.0.0.1", port, ssl: false, customHeaders: { Authorization: "Bearer owner" } });
  } finally {
    if (saved !== undefined) process.env.FIRESTORE_EMULATOR_HOST = saved;
  }
}

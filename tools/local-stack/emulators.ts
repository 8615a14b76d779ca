// The local stack runs on the same emulator and proxy machinery the tests use (process groups for the
// gcloud JVMs, a fault-injection TCP proxy); this thin re-export is the only place it is reached from.
export {
  findEmulatorToolProblems,
  findFreePort,
  killAllEmulatorsSync,
  startFirestoreEmulator,
  startPubsubEmulator,
  type EmulatorHandle,
} from "../../test/harness/emulators.ts";
export { startTcpProxy, type TcpProxy, type TcpProxyMode } from "../../test/harness/tcp-proxy.ts";
export { firestoreAt, pubsubAt } from "../../test/harness/clients.ts";

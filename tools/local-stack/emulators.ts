// The local stack runs on the same emulator and proxy machinery the tests use (process groups for the
// gcloud JVMs, a fault-injection TCP proxy); this thin re-export is the only place it is reached from.
export {
  findEmulatorToolProblems,
  findFreePort,
  isPortFree,
  killAllEmulatorsSync,
  reserveFreePorts,
  startFirestoreEmulator,
  startPubsubEmulator,
  type EmulatorHandle,
} from "../emulators/emulators.ts";
export { startTcpProxy, type TcpProxy, type TcpProxyMode } from "../fault-proxy/tcp-proxy.ts";
export { firestoreAt, pubsubAt } from "../emulators/clients.ts";

// Starting the local parts: the Pulumi program's evaluation alongside the Firestore and Pub/Sub
// emulators and the BigQuery fake, then the Slack sink and the proxies in front of them (the fault
// injection paths and each function's front proxy). Every part started is registered for close.
import { startBigQueryFake, type BigQueryFake } from "../bigquery-fake/index.ts";
import { evaluateStack } from "../plan/evaluate.ts";
import type { Closers } from "./closers.ts";
import type { LocalPlan } from "./declared.ts";
import { reserveFreePorts, startFirestoreEmulator, startPubsubEmulator, startTcpProxy, type EmulatorHandle, type TcpProxy } from "./emulators.ts";
import { startFrontProxy, type FrontProxy } from "./front-proxy.ts";
import { alertLine, startSlackSink, type SlackSink } from "./slack-sink.ts";

export interface StartedBackends {
  resources: Awaited<ReturnType<typeof evaluateStack>>["resources"];
  firestore: EmulatorHandle;
  pubsub: EmulatorHandle;
  bigqueryFake: BigQueryFake;
}

/** The emulators start while the program evaluates; whichever fails, what started is closed. */
export async function evaluateAndStartBackends(stack: string, configDir: string, project: string, closers: Closers): Promise<StartedBackends> {
  const evaluation = evaluateStack(stack, { configDir });
  const started = await Promise.allSettled([evaluation, startFirestoreEmulator(), startPubsubEmulator({ projectId: project }), startBigQueryFake({ projectId: project })]);
  const [planR, fsR, psR, bqR] = started;
  if (fsR.status === "fulfilled") closers.push(() => fsR.value.stop());
  if (psR.status === "fulfilled") closers.push(() => psR.value.stop());
  if (bqR.status === "fulfilled") closers.push(() => bqR.value.stop());
  if (planR.status === "rejected") throw planR.reason;
  if (fsR.status === "rejected") throw fsR.reason;
  if (psR.status === "rejected") throw psR.reason;
  if (bqR.status === "rejected") throw bqR.reason;
  return { resources: planR.value.resources, firestore: fsR.value, pubsub: psR.value, bigqueryFake: bqR.value };
}

export interface StartedProxies {
  slack: SlackSink;
  firestoreProxy: TcpProxy;
  pubsubProxies: Map<string, TcpProxy>;
  /** The internal port of every instance, by deployed function name. */
  ports: Map<string, number[]>;
  frontProxies: Map<string, FrontProxy>;
}

export async function startProxies(
  plan: LocalPlan,
  backends: Pick<StartedBackends, "firestore" | "pubsub">,
  instanceCount: number,
  closers: Closers,
  log: (line: string) => void,
): Promise<StartedProxies> {
  const slack = await startSlackSink((a) => log(`  [slack] ${alertLine(a)}`));
  closers.push(() => slack.close());
  const firestoreProxy = await startTcpProxy(backends.firestore.host);
  closers.push(() => firestoreProxy.close());
  const pubsubProxies = new Map<string, TcpProxy>();
  const ports = new Map<string, number[]>();
  const frontProxies = new Map<string, FrontProxy>();
  // Every instance port is held while the proxies start, so no proxy and no other instance gets one of
  // them (a front proxy sending one function's pushes to another function's instance, seen once).
  const reserved = await reserveFreePorts(plan.functions.length * instanceCount);
  try {
    for (const [index, f] of plan.functions.entries()) {
      const proxy = await startTcpProxy(backends.pubsub.host);
      closers.push(() => proxy.close());
      pubsubProxies.set(f.name, proxy);
      const instancePorts = reserved.ports.slice(index * instanceCount, (index + 1) * instanceCount);
      ports.set(f.name, instancePorts);
      const front = await startFrontProxy({ instancePorts, concurrency: f.concurrency });
      closers.push(() => front.close());
      frontProxies.set(f.name, front);
    }
  } finally {
    await reserved.release();
  }
  return { slack, firestoreProxy, pubsubProxies, ports, frontProxies };
}

// Serving every declared function from its archive: unpack it (checking its declared CODE_HASH),
// start each instance with its local environment on its internal port, then wait until every function
// answers /health through its front proxy. Every instance started is registered for close.
import { awaitHealthy } from "./await-healthy.ts";
import type { Closers } from "./closers.ts";
import type { LocalPlan } from "./declared.ts";
import { localFunctionEnv } from "./function-env.ts";
import { instanceGroup, serveFunction, unpackArchive, type ServedFunction } from "./function-host.ts";
import type { StartedProxies } from "./start-parts.ts";
import { MisconfiguredFunctionError } from "./stack-types.ts";

const SEVERITY_RANK = ["DEBUG", "INFO", "NOTICE", "WARNING", "ERROR", "CRITICAL", "ALERT", "EMERGENCY"];

export interface ServeContext {
  rootDir: string;
  workDir: string;
  project: string;
  bigqueryUrl: string;
  instanceCount: number;
  proxies: StartedProxies;
  urls: ReadonlyMap<string, string>;
  /** Local differences found while building the environments are added here. */
  localNotes: string[];
  closers: Closers;
  log: (line: string) => void;
}

export interface ServedFunctions {
  functions: Map<string, ServedFunction>;
  instances: Map<string, readonly ServedFunction[]>;
}

export async function serveDeclaredFunctions(plan: LocalPlan, c: ServeContext): Promise<ServedFunctions> {
  const served = await Promise.all(
    plan.functions.map(async (f) => {
      const unpacked = await unpackArchive(c.rootDir, f.archive, f.name, c.workDir);
      if (f.codeHash !== undefined && f.codeHash !== unpacked.sha256) {
        throw new MisconfiguredFunctionError([`${f.name}: CODE_HASH ${f.codeHash} is not the sha256 of the archive it uploads (${unpacked.sha256})`]);
      }
      const instances = await Promise.all(
        c.proxies.ports.get(f.name)!.map(async (port, i) => {
          const { env, notes } = localFunctionEnv(f, {
            slackUrl: c.proxies.slack.url,
            firestoreHost: c.proxies.firestoreProxy.host,
            pubsubHost: c.proxies.pubsubProxies.get(f.name)!.host,
            bigqueryUrl: c.bigqueryUrl,
            project: c.project,
            port,
          });
          if (i === 0) for (const n of notes) if (!c.localNotes.includes(n)) c.localNotes.push(n);
          const tag = c.instanceCount > 1 ? `${f.name}#${i}` : f.name;
          const fn = await serveFunction({
            name: f.name,
            unpacked,
            target: f.entryPoint,
            port,
            env,
            onLog: (line) => {
              if (SEVERITY_RANK.indexOf(String(line.severity)) >= SEVERITY_RANK.indexOf("ERROR")) {
                c.log(`  [${tag}] ${String(line.severity)} ${String(line.message ?? line.raw ?? "").split("\n")[0]!.slice(0, 240)}`);
              }
            },
          });
          c.closers.push(() => fn.stop());
          return fn;
        }),
      );
      return [f.name, instances] as const;
    }),
  );
  const instances = new Map<string, readonly ServedFunction[]>(served);
  const functions = new Map(served.map(([name, group]) => [name, instanceGroup(group)]));

  const problems: string[] = [];
  await Promise.all(
    plan.functions.map(async (f) => {
      const problem = await awaitHealthy(f.name, c.urls.get(f.name)!, c.log);
      if (problem !== undefined) problems.push(problem);
    }),
  );
  if (problems.length > 0) throw new MisconfiguredFunctionError(problems);
  return { functions, instances };
}

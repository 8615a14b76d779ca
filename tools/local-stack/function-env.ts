// The environment a declared function runs with on the local stack (pure: no I/O).
import { isStrictEnvironment, RUNTIME_ENV_KEYS } from "../../functions/core/runtime-env.ts";
import { BIGQUERY_API_ENDPOINT } from "../../functions/lib/orchestrator-runtime.ts";
import type { LocalFunction } from "./declared.ts";

/**
 * The DEPLOY_ENV a function of a staging or prod stack runs with locally. The runtime refuses emulator
 * hosts and local knobs when DEPLOY_ENV is staging or prod (functions/core/runtime-env.ts), which is
 * right in the cloud and is kept: locally the function is told the truth, that it runs locally.
 */
export const LOCAL_DEPLOY_ENV = "local";

/**
 * The environment a function gets locally: exactly what is declared, secrets and emulator hosts added,
 * and DEPLOY_ENV staging/prod replaced by LOCAL_DEPLOY_ENV (named in the notes).
 */
export function localFunctionEnv(
  fn: LocalFunction,
  local: { slackUrl: string; firestoreHost: string; pubsubHost: string; bigqueryUrl: string; project: string; port: number },
): { env: Record<string, string>; notes: string[] } {
  const notes: string[] = [];
  const secrets: Record<string, string> = {};
  const declaredEnvironment = fn.environment[RUNTIME_ENV_KEYS.environment];
  const environment = isStrictEnvironment(declaredEnvironment) ? LOCAL_DEPLOY_ENV : declaredEnvironment;
  if (environment !== declaredEnvironment) {
    notes.push(
      `the functions' declared ${RUNTIME_ENV_KEYS.environment}=${String(declaredEnvironment)} runs as ${LOCAL_DEPLOY_ENV} locally ` +
        `(in ${String(declaredEnvironment)} the runtime refuses the emulator hosts this run needs)`,
    );
  }
  for (const [key, secret] of Object.entries(fn.secretEnvironment)) {
    if (key === RUNTIME_ENV_KEYS.slackWebhookUrl) {
      secrets[key] = local.slackUrl;
    } else {
      secrets[key] = `local-placeholder-for-secret-${secret}`;
      notes.push(`${fn.name}: secret ${secret} (${key}) has no local value; a placeholder is set`);
    }
  }
  return {
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: process.env.HOME ?? "/tmp",
      ...fn.environment,
      ...(environment === undefined ? {} : { [RUNTIME_ENV_KEYS.environment]: environment }),
      ...secrets,
      // What Cloud Run sets on every instance.
      PORT: String(local.port),
      K_SERVICE: fn.name,
      FUNCTION_TARGET: fn.entryPoint,
      FUNCTION_SIGNATURE_TYPE: "http",
      // Local only: the emulators, the BigQuery fake, and no metadata-server probing for credentials.
      FIRESTORE_EMULATOR_HOST: local.firestoreHost,
      PUBSUB_EMULATOR_HOST: local.pubsubHost,
      [BIGQUERY_API_ENDPOINT]: local.bigqueryUrl,
      GOOGLE_CLOUD_PROJECT: local.project,
      METADATA_SERVER_DETECTION: "none",
    },
    notes,
  };
}

// Pulumi mocks for evaluating the program offline: record every declared resource with its inputs
// and answer with the outputs GCP would compute (ids, emails, service names, URLs), derived from the
// inputs so that wiring between resources can be checked.
import { createHash } from "node:crypto";
import type * as pulumi from "@pulumi/pulumi";
import { INVOKE_TOKENS, RESOURCE_TYPES } from "../../functions/core/resource-types.ts";

export interface DeclaredResource {
  type: string;
  name: string;
  /** Inputs as the engine received them (secrets already unwrapped by the mock runtime). */
  inputs: Record<string, unknown>;
  custom: boolean;
  /** Set when the registration went through a monitor `recordRegistrations` watches. */
  urn?: string;
  /** URN of the parent (the stack's for top-level resources). */
  parent?: string;
  /**
   * URNs the engine is told this resource depends on: explicit dependsOn and the resources its
   * inputs were computed from, a component expanded into its custom descendants (as the SDK does).
   * A parent is not a dependency.
   */
  dependencies?: string[];
}

/** What a registration request carries besides the inputs (the mock monitor's gRPC request). */
interface RegisterRequestLike {
  getType(): string;
  getName(): string;
  getParent(): string;
  getDependenciesList(): string[];
}
interface MonitorLike {
  registerResource(req: RegisterRequestLike, callback: (...args: unknown[]) => void): unknown;
  newUrn(parent: string, type: string, name: string): string;
}

/** A per-name stable fake of a random value: the same declaration gets the same bytes in every run. */
function fakeBytes(seed: string, length: number): Buffer {
  return createHash("sha256").update(seed).digest().subarray(0, Math.max(1, Math.min(32, length)));
}

/** A fake project number (the Pub/Sub and Monitoring service agents are named after it). */
export const MOCK_PROJECT_NUMBER = "123456789012";

const str = (v: unknown, fallback: string): string => (typeof v === "string" && v !== "" ? v : fallback);

/** Agent emails as generateServiceIdentity answers them (the monitoring API's is the notification agent). */
function serviceAgentEmail(service: string): string {
  const agent = service === "monitoring.googleapis.com" ? "monitoring-notification" : service.replace(/\.googleapis\.com$/, "");
  return `service-${MOCK_PROJECT_NUMBER}@gcp-sa-${agent}.iam.gserviceaccount.com`;
}

export class RecordingMocks implements pulumi.runtime.Mocks {
  readonly resources: DeclaredResource[] = [];
  /** The registration newResource() is being called for (set by recordRegistrations). */
  private registration: Pick<DeclaredResource, "urn" | "parent" | "dependencies"> | undefined;

  /**
   * Make the declared resources carry their URN, parent and dependencies, which newResource() is
   * not given: wrap the mock monitor's registerResource and read them off the request. The mock
   * monitor calls newResource() synchronously inside registerResource(), so the request in hand is
   * the one being recorded.
   */
  recordRegistrations(monitor: unknown): void {
    const m = monitor as MonitorLike;
    const register = m.registerResource.bind(m);
    m.registerResource = (req, callback) => {
      const parent = req.getParent();
      this.registration = {
        urn: m.newUrn(parent, req.getType(), req.getName()),
        ...(parent === "" ? {} : { parent }),
        dependencies: [...req.getDependenciesList()],
      };
      try {
        return register(req, callback);
      } finally {
        this.registration = undefined;
      }
    };
  }

  constructor(
    private readonly project: string,
    private readonly region: string,
  ) {}

  newResource(args: pulumi.runtime.MockResourceArgs): { id: string | undefined; state: Record<string, unknown> } {
    const inputs = args.inputs as Record<string, unknown>;
    this.resources.push({ type: args.type, name: args.name, inputs, custom: args.custom ?? true, ...this.registration });
    this.registration = undefined;
    const state = { ...inputs, ...this.computed(args.type, args.name, inputs) };
    return { id: str(state.id, `${args.name}-id`), state };
  }

  call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
    if (args.token === INVOKE_TOKENS.getProject) {
      const projectId = str(args.inputs.projectId, this.project);
      return { projectId, number: MOCK_PROJECT_NUMBER, name: projectId, id: `projects/${projectId}` };
    }
    throw new Error(`the offline plan has no mock for the invoke ${args.token}`);
  }

  private computed(type: string, name: string, i: Record<string, unknown>): Record<string, unknown> {
    const p = str(i.project, this.project);
    switch (type) {
      case RESOURCE_TYPES.account: {
        const email = `${str(i.accountId, name)}@${p}.iam.gserviceaccount.com`;
        return { email, member: `serviceAccount:${email}`, name: `projects/${p}/serviceAccounts/${email}`, id: `projects/${p}/serviceAccounts/${email}` };
      }
      case RESOURCE_TYPES.topic:
        return { id: `projects/${p}/topics/${str(i.name, name)}` };
      case RESOURCE_TYPES.subscription:
        return { id: `projects/${p}/subscriptions/${str(i.name, name)}` };
      case RESOURCE_TYPES.function: {
        const fn = str(i.name, name);
        const location = str(i.location, this.region);
        const serviceConfig = (i.serviceConfig ?? {}) as Record<string, unknown>;
        return {
          id: `projects/${p}/locations/${location}/functions/${fn}`,
          url: `https://${location}-${p}.cloudfunctions.net/${fn}`,
          serviceConfig: {
            ...serviceConfig,
            service: `projects/${p}/locations/${location}/services/${fn}`,
            uri: `https://${fn}-mock-${location}.a.run.app`,
          },
        };
      }
      case RESOURCE_TYPES.bucket:
        return { url: `gs://${str(i.name, name)}` };
      case RESOURCE_TYPES.bucketObject:
        return { id: `${str(i.bucket, "bucket")}-${str(i.name, name)}`, md5hash: "mock" };
      case RESOURCE_TYPES.secret:
        return { id: `projects/${p}/secrets/${str(i.secretId, name)}`, name: `projects/${p}/secrets/${str(i.secretId, name)}` };
      case RESOURCE_TYPES.secretVersion:
        return { version: "1", name: `${str(i.secret, "secret")}/versions/1` };
      case RESOURCE_TYPES.notificationChannel:
        return { name: `projects/${p}/notificationChannels/${name}` };
      case RESOURCE_TYPES.alertPolicy:
        return { name: `projects/${p}/alertPolicies/${name}` };
      case RESOURCE_TYPES.uptimeCheck:
        return { uptimeCheckId: `${name}-check-id`, name: `projects/${p}/uptimeCheckConfigs/${name}-check-id` };
      case RESOURCE_TYPES.dashboard:
        return { id: `projects/${p}/dashboards/${name}` };
      case RESOURCE_TYPES.dataset:
        return { id: `projects/${p}/datasets/${str(i.datasetId, name)}` };
      case RESOURCE_TYPES.projectService:
        return { id: `${p}/${str(i.service, name)}` };
      case RESOURCE_TYPES.serviceIdentity: {
        const email = serviceAgentEmail(str(i.service, name));
        return { id: `projects/${p}/services/${str(i.service, name)}`, email, member: `serviceAccount:${email}` };
      }
      case RESOURCE_TYPES.firestoreDatabase:
        return { id: `projects/${p}/databases/${str(i.name, "(default)")}`, uid: `${name}-uid` };
      case RESOURCE_TYPES.artifactRepository: {
        const location = str(i.location, this.region);
        return { id: `projects/${p}/locations/${location}/repositories/${str(i.repositoryId, name)}`, name: str(i.repositoryId, name) };
      }
      case RESOURCE_TYPES.randomId: {
        // Seeded by the logical name and the keepers: new keepers, new value, as with the provider.
        const bytes = fakeBytes(`${name}:${JSON.stringify(i.keepers ?? {})}`, typeof i.byteLength === "number" ? i.byteLength : 8);
        const b64Url = bytes.toString("base64url");
        return { id: b64Url, hex: bytes.toString("hex"), b64Url, b64Std: bytes.toString("base64"), dec: BigInt(`0x${bytes.toString("hex")}`).toString() };
      }
      default:
        return {};
    }
  }
}

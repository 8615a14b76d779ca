// Pulumi mocks for evaluating the program offline: record every declared resource with its inputs
// and answer with the outputs GCP would compute (ids, emails, service names, URLs), derived from the
// inputs so that wiring between resources can be checked.
import type * as pulumi from "@pulumi/pulumi";

export interface DeclaredResource {
  type: string;
  name: string;
  /** Inputs as the engine received them (secrets already unwrapped by the mock runtime). */
  inputs: Record<string, unknown>;
  custom: boolean;
}

/** A fake project number (the Pub/Sub and Monitoring service agents are named after it). */
export const MOCK_PROJECT_NUMBER = "123456789012";

const str = (v: unknown, fallback: string): string => (typeof v === "string" && v !== "" ? v : fallback);

export class RecordingMocks implements pulumi.runtime.Mocks {
  readonly resources: DeclaredResource[] = [];

  constructor(
    private readonly project: string,
    private readonly region: string,
  ) {}

  newResource(args: pulumi.runtime.MockResourceArgs): { id: string | undefined; state: Record<string, unknown> } {
    const inputs = args.inputs as Record<string, unknown>;
    this.resources.push({ type: args.type, name: args.name, inputs, custom: args.custom ?? true });
    const state = { ...inputs, ...this.computed(args.type, args.name, inputs) };
    return { id: str(state.id, `${args.name}-id`), state };
  }

  call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
    if (args.token === "gcp:organizations/getProject:getProject") {
      const projectId = str(args.inputs.projectId, this.project);
      return { projectId, number: MOCK_PROJECT_NUMBER, name: projectId, id: `projects/${projectId}` };
    }
    throw new Error(`the offline plan has no mock for the invoke ${args.token}`);
  }

  private computed(type: string, name: string, i: Record<string, unknown>): Record<string, unknown> {
    const p = str(i.project, this.project);
    switch (type) {
      case "gcp:serviceaccount/account:Account": {
        const email = `${str(i.accountId, name)}@${p}.iam.gserviceaccount.com`;
        return { email, member: `serviceAccount:${email}`, name: `projects/${p}/serviceAccounts/${email}`, id: `projects/${p}/serviceAccounts/${email}` };
      }
      case "gcp:pubsub/topic:Topic":
        return { id: `projects/${p}/topics/${str(i.name, name)}` };
      case "gcp:pubsub/subscription:Subscription":
        return { id: `projects/${p}/subscriptions/${str(i.name, name)}` };
      case "gcp:cloudfunctionsv2/function:Function": {
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
      case "gcp:storage/bucket:Bucket":
        return { url: `gs://${str(i.name, name)}` };
      case "gcp:storage/bucketObject:BucketObject":
        return { id: `${str(i.bucket, "bucket")}-${str(i.name, name)}`, md5hash: "mock" };
      case "gcp:secretmanager/secret:Secret":
        return { id: `projects/${p}/secrets/${str(i.secretId, name)}`, name: `projects/${p}/secrets/${str(i.secretId, name)}` };
      case "gcp:secretmanager/secretVersion:SecretVersion":
        return { version: "1", name: `${str(i.secret, "secret")}/versions/1` };
      case "gcp:monitoring/notificationChannel:NotificationChannel":
        return { name: `projects/${p}/notificationChannels/${name}` };
      case "gcp:monitoring/alertPolicy:AlertPolicy":
        return { name: `projects/${p}/alertPolicies/${name}` };
      case "gcp:monitoring/uptimeCheckConfig:UptimeCheckConfig":
        return { uptimeCheckId: `${name}-check-id`, name: `projects/${p}/uptimeCheckConfigs/${name}-check-id` };
      case "gcp:monitoring/dashboard:Dashboard":
        return { id: `projects/${p}/dashboards/${name}` };
      case "gcp:bigquery/dataset:Dataset":
        return { id: `projects/${p}/datasets/${str(i.datasetId, name)}` };
      default:
        return {};
    }
  }
}

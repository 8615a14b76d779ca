// Which Google Cloud APIs each resource type of this program needs enabled before it can be created.
// On a fresh project every one of them starts disabled (the API answers SERVICE_DISABLED), so the
// program enables them (components/project-services.ts) and makes every resource depend on the
// Services of its APIs. Pure: the table and its lookup, tested directly and by the infra suites.
import { RESOURCE_TYPES } from "../functions/core/resource-types.ts";

/** Every API the stack uses; each is declared as a gcp.projects.Service. */
export const STACK_APIS = [
  "cloudfunctions.googleapis.com",
  "run.googleapis.com",
  "cloudbuild.googleapis.com",
  "artifactregistry.googleapis.com",
  "pubsub.googleapis.com",
  "secretmanager.googleapis.com",
  "monitoring.googleapis.com",
  "logging.googleapis.com",
  "cloudscheduler.googleapis.com",
  "bigquery.googleapis.com",
  "firestore.googleapis.com",
  "iam.googleapis.com",
  "cloudresourcemanager.googleapis.com",
  "storage.googleapis.com",
] as const;
export type StackApi = (typeof STACK_APIS)[number];

export const SERVICE_TYPE = RESOURCE_TYPES.projectService;
export const SERVICE_IDENTITY_TYPE = RESOURCE_TYPES.serviceIdentity;

// By type-token prefix ("<package>:<module>/"): every resource of a module talks to one API.
const BY_MODULE: ReadonlyArray<readonly [string, readonly StackApi[]]> = [
  // A 2nd-gen function is built by Cloud Build into Artifact Registry and runs on Cloud Run.
  ["gcp:cloudfunctionsv2/", ["cloudfunctions.googleapis.com", "run.googleapis.com", "cloudbuild.googleapis.com", "artifactregistry.googleapis.com"]],
  ["gcp:cloudrunv2/", ["run.googleapis.com"]],
  ["gcp:artifactregistry/", ["artifactregistry.googleapis.com"]],
  ["gcp:pubsub/", ["pubsub.googleapis.com"]],
  ["gcp:secretmanager/", ["secretmanager.googleapis.com"]],
  ["gcp:monitoring/", ["monitoring.googleapis.com"]],
  ["gcp:logging/", ["logging.googleapis.com"]],
  ["gcp:cloudscheduler/", ["cloudscheduler.googleapis.com"]],
  ["gcp:bigquery/", ["bigquery.googleapis.com"]],
  ["gcp:firestore/", ["firestore.googleapis.com"]],
  ["gcp:serviceaccount/", ["iam.googleapis.com"]],
  ["gcp:storage/", ["storage.googleapis.com"]],
];

// Exact types outside those modules.
const BY_TYPE: ReadonlyMap<string, readonly StackApi[]> = new Map<string, readonly StackApi[]>([
  // Project IAM reads and writes the project's policy through Resource Manager.
  [RESOURCE_TYPES.projectIamMember, ["cloudresourcemanager.googleapis.com"]],
  [RESOURCE_TYPES.projectIamBinding, ["cloudresourcemanager.googleapis.com"]],
  [RESOURCE_TYPES.projectIamPolicy, ["cloudresourcemanager.googleapis.com"]],
  // Enabling an API goes through Service Usage, which every project has on.
  [SERVICE_TYPE, []],
  // Local to the Pulumi engine: no API.
  [RESOURCE_TYPES.randomId, []],
]);

export class UnclassifiedTypeError extends Error {
  constructor(readonly type: string) {
    super(`resource type ${type} is not in infra/required-apis.ts: say which APIs it needs (or none)`);
    this.name = "UnclassifiedTypeError";
  }
}

const isStackApi = (s: unknown): s is StackApi => typeof s === "string" && (STACK_APIS as readonly string[]).includes(s);

/**
 * The APIs a resource of `type` with inputs `props` needs, or undefined when the type is not
 * classified. A service identity needs the API it is the agent of (`props.service`).
 */
export function requiredApis(type: string, props: Readonly<Record<string, unknown>>): readonly StackApi[] | undefined {
  if (type === SERVICE_IDENTITY_TYPE) {
    const service = props.service;
    if (!isStackApi(service)) throw new Error(`service identity for ${String(service)}: not one of the stack's APIs (STACK_APIS)`);
    return [service];
  }
  const exact = BY_TYPE.get(type);
  if (exact !== undefined) return exact;
  return BY_MODULE.find(([prefix]) => type.startsWith(prefix))?.[1];
}

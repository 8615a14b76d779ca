// How the functions are built: a dedicated Cloud Build service account holding only what a build
// needs, and the Artifact Registry repository the built images go to, with a cleanup policy so that
// images do not pile up (one image version per function per deployment).
//
// Without an explicit build account, Cloud Functions builds as a project default account (the
// Compute Engine default account on newer projects, which new organisations create without roles,
// so the first build fails). The identity running `pulumi up` needs iam.serviceAccounts.actAs on
// this account (roles/iam.serviceAccountUser on it), as for the runtime accounts: docs/DEPLOYING.md.
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import { Component } from "../component.ts";
import type { ComponentArgs } from "../component.ts";
import type { Naming } from "../naming.ts";

type Kinds = {
  account: gcp.serviceaccount.AccountArgs;
  repository: gcp.artifactregistry.RepositoryArgs;
  logWriter: gcp.projects.IAMMemberArgs;
  registryWriter: gcp.artifactregistry.RepositoryIamMemberArgs;
  sourceReader: gcp.storage.BucketIAMMemberArgs;
};

export interface FunctionBuildArgs extends ComponentArgs<Kinds> {
  naming: Naming;
  project: string;
  region: string;
  /** The bucket holding the source archives (the build reads them). */
  sourceBucket: pulumi.Input<string>;
  /** Image versions kept per function whatever their age (rollback targets). */
  keepVersions?: number;
  /** Older versions than this, beyond the kept ones, are deleted. */
  deleteAfterDays?: number;
}

export const REPOSITORY_ID = "orchestration-functions";
export const DEFAULT_KEEP_VERSIONS = 5;
export const DEFAULT_DELETE_AFTER_DAYS = 30;

export class FunctionBuild extends Component<Kinds> {
  readonly account: gcp.serviceaccount.Account;
  readonly repository: gcp.artifactregistry.Repository;
  /** buildConfig.serviceAccount: the account's full resource name (projects/P/serviceAccounts/E). */
  readonly serviceAccountName: pulumi.Output<string>;
  /** buildConfig.dockerRepository: projects/P/locations/L/repositories/R. */
  readonly dockerRepository: pulumi.Output<string>;
  /** The build account's grants: a function must not be built before they exist. */
  readonly grants: pulumi.Resource[];

  constructor(name: string, args: FunctionBuildArgs, opts?: pulumi.ComponentResourceOptions) {
    super("FunctionBuild", name, args.transform, opts);
    const keep = args.keepVersions ?? DEFAULT_KEEP_VERSIONS;
    const days = args.deleteAfterDays ?? DEFAULT_DELETE_AFTER_DAYS;

    this.account = this.child("account", gcp.serviceaccount.Account, "sa", {
      accountId: args.naming.serviceAccountId("functions", "build"),
      displayName: "Function builds",
      description: "Cloud Build identity of the functions' builds: writes logs and images, reads source archives.",
    });
    const member = pulumi.interpolate`serviceAccount:${this.account.email}`;

    this.repository = this.child("repository", gcp.artifactregistry.Repository, "repository", {
      project: args.project,
      location: args.region,
      repositoryId: REPOSITORY_ID,
      format: "DOCKER",
      description: "Images of the orchestration functions (Cloud Functions builds).",
      labels: args.naming.labels(),
      cleanupPolicyDryRun: false,
      // KEEP wins over DELETE: the newest versions of every function stay (the live revision's image
      // is the newest), everything else goes once it is old enough.
      cleanupPolicies: [
        { id: "keep-recent", action: "KEEP", mostRecentVersions: { keepCount: keep } },
        { id: "delete-old", action: "DELETE", condition: { tagState: "ANY", olderThan: `${days * 86_400}s` } },
      ],
    });

    this.grants = [
      this.child("logWriter", gcp.projects.IAMMember, "log-writer", { project: args.project, role: "roles/logging.logWriter", member }),
      this.child("registryWriter", gcp.artifactregistry.RepositoryIamMember, "registry-writer", {
        project: args.project,
        location: args.region,
        repository: this.repository.name,
        role: "roles/artifactregistry.writer",
        member,
      }),
      this.child("sourceReader", gcp.storage.BucketIAMMember, "source-reader", {
        bucket: args.sourceBucket,
        role: "roles/storage.objectViewer",
        member,
      }),
    ];
    this.serviceAccountName = this.account.name;
    this.dockerRepository = this.repository.id;
    this.registerOutputs({ account: this.account.email, repository: this.repository.id });
  }
}

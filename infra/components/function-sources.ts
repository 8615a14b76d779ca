// The bucket the functions' source archives are uploaded to. Bucket names are global across all of
// Cloud Storage, so the name ends in a random suffix that is fixed per stack and project (a
// RandomId kept by both): another project, or a deleted bucket's name still held, cannot block it.
import * as gcp from "@pulumi/gcp";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { Component } from "../component.ts";
import type { ComponentArgs } from "../component.ts";
import type { Naming } from "../naming.ts";

type Kinds = { suffix: random.RandomIdArgs; bucket: gcp.storage.BucketArgs };

export interface FunctionSourcesArgs extends ComponentArgs<Kinds> {
  naming: Naming;
  project: string;
  region: string;
  /** Days a replaced archive is kept after it stopped being the live object. */
  archiveRetentionDays?: number;
}

export const DEFAULT_ARCHIVE_RETENTION_DAYS = 30;

export class FunctionSources extends Component<Kinds> {
  readonly suffix: random.RandomId;
  readonly bucket: gcp.storage.Bucket;

  constructor(name: string, args: FunctionSourcesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("FunctionSources", name, args.transform, opts);
    this.suffix = this.child("suffix", random.RandomId, "suffix", {
      byteLength: 4,
      keepers: { stack: pulumi.getStack(), project: args.project },
    });
    this.bucket = this.child("bucket", gcp.storage.Bucket, "bucket", {
      name: this.suffix.hex.apply((hex) => args.naming.bucketName(`function-sources-${hex}`)),
      location: args.region.toUpperCase(),
      uniformBucketLevelAccess: true,
      publicAccessPrevention: "enforced",
      labels: args.naming.labels(),
      forceDestroy: false,
      // Each archive is its own object (named after its code hash) and Pulumi deletes the previous
      // one when a function's code changes; versioning keeps that archive as a noncurrent version
      // for a while, and the rule below removes it. The rule matches ARCHIVED (noncurrent) versions
      // only, so it can never delete the live archive a function is declared with. Deleting old
      // archives is safe anyway: Cloud Functions copies the source into its build when it deploys,
      // and a running revision serves the built image, never the archive.
      versioning: { enabled: true },
      lifecycleRules: [
        {
          action: { type: "Delete" },
          condition: { withState: "ARCHIVED", daysSinceNoncurrentTime: args.archiveRetentionDays ?? DEFAULT_ARCHIVE_RETENTION_DAYS },
        },
      ],
    });
    this.registerOutputs({ bucket: this.bucket.name });
  }
}

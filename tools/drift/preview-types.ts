// The shape of `pulumi preview --json` output, as Pulumi writes it.
// Source: pulumi/pulumi sdk/pkg/display/json.go (PreviewDigest, PreviewStep, PropertyDiff,
// PreviewDiagnostic) and apitype.ResourceV3 for the states; filled by ShowPreviewDigest in
// pkg/backend/display/json.go. Every field is `omitempty` in Go except `detailedDiff` (null when
// the provider gave none) and `op`/`urn`, so everything else is optional here.
import { RESOURCE_TYPES } from "../../functions/core/resource-types.ts";

/** Step operations the engine may report (deploy.StepOp labels). */
export type StepOp =
  | "same"
  | "create"
  | "update"
  | "delete"
  | "replace"
  | "create-replacement"
  | "delete-replaced"
  | "read"
  | "read-replacement"
  | "refresh"
  | "discard"
  | "discard-replaced"
  | "remove-pending-replace"
  | "import"
  | "import-replacement"
  // Future engine versions may add ops; they are reported as changes, never dropped.
  | (string & {});

/** apitype.ResourceV3, the fields this tool reads (secrets arrive as the string "[secret]"). */
export interface PreviewResourceState {
  urn: string;
  custom?: boolean;
  delete?: boolean;
  id?: string;
  type: string;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
  parent?: string;
  provider?: string;
}

export interface PreviewPropertyDiff {
  /** "add" | "add-replace" | "delete" | "delete-replace" | "update" | "update-replace" */
  kind: string;
  inputDiff: boolean;
}

export interface PreviewStep {
  op: StepOp;
  urn: string;
  provider?: string;
  oldState?: PreviewResourceState;
  newState?: PreviewResourceState;
  diffReasons?: string[];
  replaceReasons?: string[];
  detailedDiff?: Record<string, PreviewPropertyDiff> | null;
}

export interface PreviewDiagnostic {
  urn?: string;
  prefix?: string;
  message?: string;
  /** diag.Severity: "debug" | "info" | "info#err" | "warning" | "error" */
  severity?: string;
}

export interface PreviewDigest {
  config?: Record<string, string>;
  steps?: PreviewStep[];
  diagnostics?: PreviewDiagnostic[];
  /** Go time.Duration: nanoseconds. */
  duration?: number;
  changeSummary?: Record<string, number>;
  maybeCorrupt?: boolean;
}

/** The value Pulumi serialises for a property whose value is not known during preview. */
export const UNKNOWN_VALUE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** The resource type of a Cloud Function (2nd gen) in @pulumi/gcp. */
export const FUNCTION_TYPE = RESOURCE_TYPES.function;
/** The resource type of the code archive a function is deployed from. */
export const BUCKET_OBJECT_TYPE = RESOURCE_TYPES.bucketObject;
/** The root stack resource: always shown in a preview, even when "same". */
export const ROOT_STACK_TYPE = RESOURCE_TYPES.stack;

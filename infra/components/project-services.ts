// The APIs the stack uses, enabled on its project, and the transformation that makes every resource
// depend on the Services of the APIs it needs (infra/required-apis.ts). Without those dependencies a
// first `pulumi up` on a fresh project creates resources in parallel with enabling their APIs and
// fails with SERVICE_DISABLED.
//
// Pulumi does not pass a component's dependsOn on to its children, so the dependency is put on each
// resource itself: pass `apiDependencies` as the `transformations` option of every component (a
// parent's transformations apply to all its descendants) and of top-level resources.
import * as gcp from "@pulumi/gcp";
import type * as pulumi from "@pulumi/pulumi";
import { Component } from "../component.ts";
import type { ComponentArgs } from "../component.ts";
import { requiredApis, STACK_APIS } from "../required-apis.ts";
import type { StackApi } from "../required-apis.ts";

type Kinds = { service: gcp.projects.ServiceArgs };

export interface ProjectServicesArgs extends ComponentArgs<Kinds> {
  project: string;
  apis?: readonly StackApi[];
}

type DependsOn = pulumi.ResourceOptions["dependsOn"];

/** `existing` (any shape dependsOn takes) plus `more`; the SDK flattens nested inputs. */
export function withDependencies(existing: DependsOn, more: readonly pulumi.Resource[]): DependsOn {
  if (existing === undefined) return [...more];
  const list: pulumi.Input<pulumi.Resource>[] = Array.isArray(existing) ? [...(existing as pulumi.Input<pulumi.Resource>[])] : [existing as pulumi.Input<pulumi.Resource>];
  return [...list, ...more];
}

export class ProjectServices extends Component<Kinds> {
  private readonly services = new Map<StackApi, gcp.projects.Service>();

  constructor(name: string, args: ProjectServicesArgs, opts?: pulumi.ComponentResourceOptions) {
    super("ProjectServices", name, args.transform, opts);
    for (const api of args.apis ?? STACK_APIS) {
      this.services.set(
        api,
        this.child("service", gcp.projects.Service, api.replace(/\.googleapis\.com$/, ""), {
          project: args.project,
          service: api,
          // Never switch an API off on destroy: other workloads of the project may use it, and
          // disabling one with dependents would fail (or, with dependents, cascade) anyway.
          disableOnDestroy: false,
          disableDependentServices: false,
        }),
      );
    }
    this.registerOutputs({ services: [...this.services.keys()] });
  }

  /** The Service enabling `api`. */
  service(api: StackApi): gcp.projects.Service {
    const s = this.services.get(api);
    if (s === undefined) throw new Error(`API ${api} is not enabled by this stack (ProjectServices apis)`);
    return s;
  }

  /**
   * A transformation adding the Services of the APIs a resource needs to its dependsOn. Types not
   * in the table (components included) are left alone; an infra test fails on an unclassified type.
   */
  readonly apiDependencies: pulumi.ResourceTransformation = ({ type, props, opts }) => {
    const apis = requiredApis(type, props as Record<string, unknown>);
    if (apis === undefined || apis.length === 0) return undefined;
    return { props, opts: { ...opts, dependsOn: withDependencies(opts.dependsOn, apis.map((a) => this.service(a))) } };
  };
}

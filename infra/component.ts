// The base of every component here (after sst's component.ts): it names its children from its own
// name, parents them to itself, and lets the user of a component reshape any child's args through a
// per-kind `transform` before the child is declared.
import * as pulumi from "@pulumi/pulumi";
import { childLogicalName } from "./naming.ts";

/** Replace part of a child's args, or edit args/options in place. */
export type Transform<Args> =
  | Partial<Args>
  | ((args: Args, opts: pulumi.CustomResourceOptions, name: string) => void);

/** Per child kind, an optional transform. M maps kind -> args type. */
export type Transforms<M> = { [K in keyof M]?: Transform<M[K]> };

export interface ComponentArgs<M> {
  transform?: Transforms<M>;
}

/** Type tokens of this project's components: "orchestration:infra:<Name>". */
export const componentType = (name: string): string => `orchestration:infra:${name}`;

type ResourceCtor<A, R> = new (name: string, args: A, opts?: pulumi.CustomResourceOptions) => R;

export abstract class Component<M extends object> extends pulumi.ComponentResource {
  /** The logical name, the prefix of every child's logical name. */
  readonly logicalName: string;
  private readonly transforms: Transforms<M>;

  protected constructor(typeName: string, name: string, transforms: Transforms<M> | undefined, opts?: pulumi.ComponentResourceOptions) {
    super(componentType(typeName), name, {}, opts);
    this.logicalName = name;
    this.transforms = transforms ?? {};
  }

  /** Declare a child resource of `kind`, named "<this>-<suffix>", parented here, after the kind's transform. */
  protected child<K extends keyof M & string, R>(
    kind: K,
    ctor: ResourceCtor<M[K], R>,
    suffix: string,
    args: M[K],
    opts: pulumi.CustomResourceOptions = {},
  ): R {
    const name = childLogicalName(this.logicalName, suffix);
    const finalOpts: pulumi.CustomResourceOptions = { ...opts, parent: this };
    const transform = this.transforms[kind];
    let finalArgs = args;
    if (typeof transform === "function") transform(finalArgs, finalOpts, name);
    else if (transform !== undefined) finalArgs = { ...args, ...transform };
    return new ctor(name, finalArgs, finalOpts);
  }

  /** Name for a child component: "<this>-<suffix>" (pass `{ parent: this }` when constructing it). */
  protected childName(suffix: string): string {
    return childLogicalName(this.logicalName, suffix);
  }
}

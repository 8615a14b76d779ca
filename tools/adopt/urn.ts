// URNs as the Pulumi engine builds them: `urn:pulumi:<stack>::<project>::<qualified type>::<name>`,
// the qualified type being the parent's qualified type, "$", the resource's type, except under the
// root stack resource, whose type is left out. Used to check that an import file puts every resource
// at the URN the program declares it under (so the next `pulumi up` sees it as the same resource).
// Pure.
import { RESOURCE_TYPES } from "../../functions/core/resource-types.ts";

export const ROOT_STACK_TYPE = RESOURCE_TYPES.stack;

export function engineUrn(stack: string, project: string, parentQualifiedType: string | undefined, type: string, name: string): string {
  const qualified = parentQualifiedType === undefined || parentQualifiedType === "" ? type : `${parentQualifiedType}$${type}`;
  return `urn:pulumi:${stack}::${project}::${qualified}::${name}`;
}

/** The qualified type of a URN (the part between the project and the name). */
export function qualifiedTypeOf(urn: string): string {
  const parts = urn.split("::");
  if (parts.length < 4) throw new Error(`not a URN: ${urn}`);
  return parts[2]!;
}

/** A declared resource as the chain of (type, name) from its top-level ancestor down to itself. */
export interface Declared {
  type: string;
  name: string;
  /** An identifier of the declaration (here: the URN the mock runtime gave it). */
  urn?: string;
  /** The identifier of its parent, if any. */
  parent?: string;
}

/** The ancestors of `r` (nearest last), the root stack resource excluded. */
export function ancestorsOf(r: Declared, byId: ReadonlyMap<string, Declared>): Declared[] {
  const chain: Declared[] = [];
  let parentId = r.parent;
  const seen = new Set<string>();
  while (parentId !== undefined && parentId !== "") {
    if (seen.has(parentId)) throw new Error(`parent cycle at ${parentId}`);
    seen.add(parentId);
    const parent = byId.get(parentId);
    if (parent === undefined) throw new Error(`${r.type} ${r.name}: parent ${parentId} is not among the declared resources`);
    if (parent.type === ROOT_STACK_TYPE) break;
    chain.unshift(parent);
    parentId = parent.parent;
  }
  return chain;
}

/** The engine URN of a declared resource, from its chain of ancestors. */
export function declaredEngineUrn(r: Declared, byId: ReadonlyMap<string, Declared>, stack: string, project: string): string {
  let qualified: string | undefined;
  for (const a of ancestorsOf(r, byId)) qualified = qualified === undefined ? a.type : `${qualified}$${a.type}`;
  return engineUrn(stack, project, qualified, r.type, r.name);
}

export interface ImportEntryLike {
  type: string;
  name: string;
  logicalName?: string;
  parent?: string;
}

/**
 * The URN `pulumi import --file` gives each entry, resolved the way the CLI does: `name` defaults to
 * `logicalName` and back, a parent is a nameTable entry (a URN) or another entry's `name`. Throws
 * on an unknown parent, an ambiguous name or two entries at one URN.
 */
export function resolveImportUrns(
  doc: { nameTable?: Record<string, string>; resources: readonly ImportEntryLike[] },
  stack: string,
  project: string,
): Map<string, string> {
  const table = doc.nameTable ?? {};
  const entries = doc.resources.map((r) => ({ ...r, name: r.name || (r.logicalName ?? ""), logicalName: r.logicalName || r.name }));
  const seenNames = new Set<string>();
  for (const e of entries) {
    if (seenNames.has(e.name)) throw new Error(`ambiguous name ${e.name} in the import file`);
    seenNames.add(e.name);
  }
  const urns = new Map<string, string>();
  const byName = new Map(entries.map((e) => [e.name, e]));
  const resolve = (name: string, depth: number): string => {
    const done = urns.get(name);
    if (done !== undefined) return done;
    if (depth > entries.length) throw new Error(`parent cycle at ${name}`);
    const e = byName.get(name)!;
    let parentType: string | undefined;
    if (e.parent !== undefined && e.parent !== "") {
      const fromTable = table[e.parent];
      if (fromTable !== undefined) parentType = qualifiedTypeOf(fromTable);
      else if (byName.has(e.parent)) parentType = qualifiedTypeOf(resolve(e.parent, depth + 1));
      else throw new Error(`the parent '${e.parent}' of ${e.name} has no entry in 'nameTable' nor in 'resources'`);
      if (parentType === ROOT_STACK_TYPE) parentType = undefined;
    }
    const urn = engineUrn(stack, project, parentType, e.type, e.logicalName);
    urns.set(name, urn);
    return urn;
  };
  const taken = new Set(Object.values(table));
  for (const e of entries) {
    const urn = resolve(e.name, 0);
    if (taken.has(urn)) throw new Error(`${e.name} has an ambiguous URN ${urn}`);
    taken.add(urn);
  }
  return urns;
}

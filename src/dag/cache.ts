// What the DAG stage remembers from one build to the next, held by whoever runs the builds (the
// pipeline) and passed in through DagOptions.cache: results that depend on one object alone (its
// schema errors, its typed spec, a parsed Secret), keyed by the object. Objects are replaced, never
// mutated, when they change, so an entry is never stale and goes with its object.
import type { KubeObject } from "../sources/types.ts";
import type { ReadSpec } from "./crd-reader.ts";

/** A Secret's content after the checks that do not depend on the clock. */
export interface ParsedSecret {
  certificateChain: string;
  privateKey: string;
  /** Validity of the leaf certificate (TLS secrets only). */
  notBefore?: Date;
  notAfter?: Date;
}

export type CheckedSecret = { ok: ParsedSecret } | { error: string };

export interface DagCache {
  /** crdSchemaErrors by object. */
  readonly schemaErrors: WeakMap<KubeObject, string[]>;
  /** readCrdSpec by object. */
  readonly specs: WeakMap<KubeObject, ReadSpec<unknown>>;
  /** crdDefaulted by object: the same copy on every build, so what is remembered of the copy holds too. */
  readonly defaulted: WeakMap<KubeObject, KubeObject>;
  /** gatewayCrdChecked by object (Gateway API kinds). */
  readonly gatewayChecked: WeakMap<KubeObject, { object: KubeObject; errors: string[] }>;
  /** validateSecret's clock-free checks by use and object. */
  readonly secrets: Record<"tls" | "ca" | "crl", WeakMap<KubeObject, CheckedSecret>>;
}

export function createDagCache(): DagCache {
  return { schemaErrors: new WeakMap(), specs: new WeakMap(), defaulted: new WeakMap(), gatewayChecked: new WeakMap(), secrets: { tls: new WeakMap(), ca: new WeakMap(), crl: new WeakMap() } };
}

/** `compute(object)`, remembered in `map` when there is one. */
export function remembered<T>(map: WeakMap<KubeObject, T> | undefined, object: KubeObject, compute: (object: KubeObject) => T): T {
  if (!map) return compute(object);
  let value = map.get(object);
  if (value === undefined) {
    value = compute(object);
    map.set(object, value);
  }
  return value;
}

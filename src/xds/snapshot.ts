// The snapshot store: the resources the agent currently serves, per xDS type. A resource set is
// published atomically and only when it is consistent (nothing points at a name that does not exist).
// Each resource is encoded once per content; its version is a hash of its bytes, so an unchanged
// resource keeps its version and bytes across publishes and a delta client is sent only what changed.
import { createHash } from "node:crypto";
import { Buffer } from "node:buffer";
import type protobuf from "protobufjs";
import { encodeStrict, lookupType } from "./registry.ts";
import { lengthDelimited, readField } from "./server-wire.ts";
import { resourceTypes, typeInfo, type NodeInfo, type ResourceSet, type ResourceTypeInfo, type TypeUrl } from "./types.ts";
import { findReferences, type References } from "./references.ts";

/** One resource as served: its bytes are shared by every client that receives this version. */
export interface CachedResource {
  readonly name: string;
  readonly version: string;
  readonly bytes: Uint8Array;
  readonly json: object;
  /** The JSON text's hash, to skip re-encoding unchanged input. */
  readonly jsonHash: string;
  /** The names it points at in other types, found once per version. */
  refs?: References;
  /** A large resource's entry encodings by their JSON text (see encodeResource), reused by its next version. */
  readonly entries?: Map<string, Uint8Array>;
  /** Wire fragments built from `bytes` on first use (see server-wire.ts), shared by all clients. */
  wire?: { sotw?: Uint8Array; delta?: Uint8Array };
}

export interface PublishResult {
  /** Type URLs whose content changed with this publish (all of them on the first publish). */
  changedTypes: Set<string>;
  versions: Record<string, string>;
}

export type NodeView = (node: NodeInfo, typeUrl: string, names: string[]) => string[] | undefined;

export interface SnapshotStore {
  /** Replaces every resource atomically; throws SnapshotInconsistentError (naming what dangles) instead. */
  publish(set: ResourceSet): PublishResult;
  /** EDS-only fast path: replaces the given load assignments and removes the named ones. */
  updateEndpoints(changed: object[], removed?: string[]): void;
  /** False until the first publish: nothing is served before it. */
  readonly published: boolean;
  /** The version of a type as a whole: a hash of its resources' names and versions ("" before publish). */
  version(typeUrl: string): string;
  resources(typeUrl: string): Map<string, CachedResource>;
  /** Called after every change with the type URLs that changed. Returns the unsubscribe function. */
  subscribe(listener: (changedTypes: Set<string>) => void): () => void;
  /**
   * Installs the hook deciding which resource names one node may see; default: all. `types` lists the
   * types it narrows (default: every type); the others keep the whole-type fast paths.
   */
  setNodeView(view: NodeView, options?: { types?: readonly string[] }): void;
  /** The names of `names` that `node` may see, in their given order. */
  visibleNames(node: NodeInfo, typeUrl: string, names: string[]): string[];
  /** True when a node view is installed (callers may then skip the whole-type fast paths). */
  readonly hasNodeView: boolean;
  /** True when the installed node view narrows `typeUrl` (what one client sees of it may differ from the whole). */
  viewScopes(typeUrl: string): boolean;
  /** How many subscribers are registered (one per open xDS stream): a leak shows here. */
  subscriberCount(): number;
}

export class SnapshotInconsistentError extends Error {
  override name = "SnapshotInconsistentError";
  readonly code = "SnapshotInconsistent";
  constructor(readonly dangling: string[]) {
    super(`snapshot not published, it is inconsistent: ${dangling.join("; ")}`);
  }
}

type TypeMaps = Map<string, Map<string, CachedResource>>;

export function createSnapshotStore(): SnapshotStore {
  let current: TypeMaps = new Map(resourceTypes.map((info) => [info.typeUrl, new Map()]));
  const versions = new Map<string, string>(resourceTypes.map((info) => [info.typeUrl, ""]));
  const listeners = new Set<(changedTypes: Set<string>) => void>();
  let published = false;
  let nodeView: NodeView | undefined;
  let viewTypes: Set<string> | undefined; // undefined: the view narrows every type

  function commit(next: TypeMaps, forceAll: boolean): Set<string> {
    const changed = new Set<string>();
    for (const info of resourceTypes) {
      const resources = next.get(info.typeUrl)!;
      const version = typeVersion(resources);
      if (forceAll || version !== versions.get(info.typeUrl)) changed.add(info.typeUrl);
      versions.set(info.typeUrl, version);
    }
    current = next;
    published = true;
    if (changed.size > 0) for (const listener of [...listeners]) listener(changed);
    return changed;
  }

  return {
    publish(set) {
      const next: TypeMaps = new Map();
      const problems: string[] = [];
      for (const info of resourceTypes) {
        next.set(info.typeUrl, buildTypeMap(info, set[info.kind] ?? [], current.get(info.typeUrl)!, problems));
      }
      problems.push(...findDangling(next));
      if (problems.length > 0) throw new SnapshotInconsistentError(problems);
      const changedTypes = commit(next, !published);
      return { changedTypes, versions: Object.fromEntries(versions) };
    },
    updateEndpoints(changed, removed = []) {
      if (!published) throw new SnapshotInconsistentError(["endpoints updated before the first publish"]);
      const info = typeInfo(endpointUrl)!;
      const previous = current.get(endpointUrl)!;
      const endpoints = new Map(previous);
      const problems: string[] = [];
      for (const name of removed) endpoints.delete(name);
      const updated = buildTypeMap(info, changed, previous, problems);
      for (const [name, resource] of updated) endpoints.set(name, resource);
      const next: TypeMaps = new Map(current);
      next.set(endpointUrl, endpoints);
      problems.push(...findDangling(next));
      if (problems.length > 0) throw new SnapshotInconsistentError(problems);
      commit(next, false);
    },
    get published() {
      return published;
    },
    version: (typeUrl) => versions.get(typeUrl) ?? "",
    resources: (typeUrl) => current.get(typeUrl) ?? new Map(),
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    setNodeView(view, options = {}) {
      nodeView = view;
      viewTypes = options.types ? new Set(options.types) : undefined;
    },
    visibleNames(node, typeUrl, names) {
      if (!nodeView || (viewTypes && !viewTypes.has(typeUrl))) return names;
      const allowed = nodeView(node, typeUrl, names);
      if (!allowed) return names;
      const allowedSet = new Set(allowed);
      return names.filter((name) => allowedSet.has(name));
    },
    get hasNodeView() {
      return nodeView !== undefined;
    },
    viewScopes: (typeUrl) => nodeView !== undefined && (!viewTypes || viewTypes.has(typeUrl)),
    subscriberCount: () => listeners.size,
  };
}

const endpointUrl: TypeUrl = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment";

/** Encodes the resources of one type, reusing the previous entry when the input is unchanged. */
function buildTypeMap(
  info: ResourceTypeInfo,
  input: object[],
  previous: Map<string, CachedResource>,
  problems: string[],
): Map<string, CachedResource> {
  const out = new Map<string, CachedResource>();
  for (const raw of input) {
    const { "@type": _type, ...json } = raw as Record<string, unknown>;
    const name = json[info.nameField];
    if (typeof name !== "string" || name === "") {
      problems.push(`${info.short} resource without a ${info.nameField}`);
      continue;
    }
    if (out.has(name)) {
      problems.push(`${info.short} resource ${name} appears twice`);
      continue;
    }
    const jsonHash = hash(JSON.stringify(json));
    const before = previous.get(name);
    if (before && before.jsonHash === jsonHash) {
      out.set(name, before);
      continue;
    }
    let encoded: ReturnType<typeof encodeResource>;
    try {
      encoded = encodeResource(info, json, before);
    } catch (error) {
      problems.push(`${info.short} resource ${name} does not encode: ${(error as Error).message}`);
      continue;
    }
    const { bytes, entries } = encoded;
    const version = hash(bytes);
    // Same bytes from differently written JSON: keep the old entry and its wire fragments.
    out.set(name, before && before.version === version ? { ...before, jsonHash, json, entries } : { name, version, bytes, json, jsonHash, entries });
  }
  return out;
}

/** A resource with at least this many entries in a repeated message field is encoded entry by entry. */
const entryEncodingMin = 32;

/**
 * Strictly encodes one resource. A large one (a route config of a thousand virtual hosts) is encoded
 * entry by entry of its first repeated message field that long, reusing the previous version's bytes
 * of every entry whose JSON is unchanged: one changed virtual host costs one virtual host's encoding.
 * The bytes are the same as encoding the whole (protobufjs writes fields in number order; an entry
 * nested or alone encodes alike).
 */
function encodeResource(info: ResourceTypeInfo, json: Record<string, unknown>, before: CachedResource | undefined): { bytes: Uint8Array; entries?: Map<string, Uint8Array> } {
  const type = lookupType(info.typeUrl);
  const field = type.fieldsArray.find((candidate) => {
    const list = json[candidate.name];
    return candidate.repeated && Array.isArray(list) && list.length >= entryEncodingMin && isMessageType(candidate.resolve().resolvedType);
  });
  if (!field) return { bytes: encodeStrict(type, json) };
  const { [field.name]: list, ...rest } = json;
  const head = encodeStrict(type, rest);
  const entryType = field.resolvedType as protobuf.Type;
  const entries = new Map<string, Uint8Array>();
  const parts: Uint8Array[] = [];
  for (const entry of list as object[]) {
    const key = JSON.stringify(entry);
    let bytes = entries.get(key) ?? before?.entries?.get(key);
    bytes ??= lengthDelimited(field.id, encodeStrict(entryType, entry));
    entries.set(key, bytes);
    parts.push(bytes);
  }
  const at = fieldsBefore(head, field.id);
  return { bytes: Buffer.concat([head.subarray(0, at), ...parts, head.subarray(at)]), entries };
}

function isMessageType(resolved: protobuf.ReflectionObject | null): boolean {
  return resolved !== null && "fieldsArray" in resolved;
}

/** The length of the run of top-level fields numbered below `fieldId` at the start of `bytes`. */
function fieldsBefore(bytes: Uint8Array, fieldId: number): number {
  let offset = 0;
  while (offset < bytes.length) {
    const next = readField(bytes, offset);
    if (!next) throw new Error("cannot read the encoding it just wrote");
    if (next.field > fieldId) return offset;
    offset = next.end;
  }
  return bytes.length;
}

/** Every name a resource points at that the set does not hold, as messages naming both ends. */
function findDangling(maps: TypeMaps): string[] {
  const problems: string[] = [];
  const has = (typeUrl: string, name: string) => maps.get(typeUrl)!.has(name);
  for (const info of resourceTypes) {
    for (const resource of maps.get(info.typeUrl)!.values()) {
      const refs = (resource.refs ??= findReferences(info.typeUrl, resource.json));
      for (const route of refs.routes) {
        if (!has(typeUrlOf("routes"), route)) problems.push(`${info.short} ${resource.name} names route config ${route}, which does not exist`);
      }
      for (const eds of refs.endpoints) {
        if (!has(endpointUrl, eds)) problems.push(`${info.short} ${resource.name} names EDS load assignment ${eds}, which does not exist`);
      }
      for (const secret of refs.secrets) {
        if (!has(typeUrlOf("secrets"), secret)) problems.push(`${info.short} ${resource.name} names SDS secret ${secret}, which does not exist`);
      }
    }
  }
  return problems;
}

function typeUrlOf(kind: "routes" | "secrets"): string {
  return resourceTypes.find((info) => info.kind === kind)!.typeUrl;
}

/** A type's version: a hash over its names and resource versions, in name order. */
function typeVersion(resources: Map<string, CachedResource>): string {
  const digest = createHash("sha256");
  for (const name of [...resources.keys()].sort()) digest.update(`${name}\u0000${resources.get(name)!.version}\u0000`);
  return digest.digest("hex").slice(0, 16);
}

function hash(content: string | Uint8Array): string {
  return createHash("sha256").update(content).digest("hex").slice(0, 16);
}

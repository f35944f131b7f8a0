// One resource as the snapshot store holds it: its bytes, its JSON, and what is derived from them once.
import { findReferences, type References } from "./references.ts";

/**
 * The encodings of a large resource's entries (the virtual hosts of a route config, the filter
 * chains of a listener), each a view into the resource's bytes, for its next version to reuse:
 * found by the entry's JSON object (an unchanged translation hands over the same object) and, when
 * that misses, by the hash of the entry's JSON text (built on first need, see resource-encoding.ts).
 */
export interface EntryEncodings {
  readonly byObject: Map<object, Uint8Array>;
  /** By the hash of each entry's JSON text; undefined until a next version needs it. */
  byKey?: Map<string, Uint8Array>;
}

/** One resource as served: its bytes are shared by every client that receives this version. */
export interface CachedResource {
  readonly name: string;
  readonly version: string;
  readonly bytes: Uint8Array;
  /** The JSON it was encoded from; never changed once published, so the same object means the same bytes. */
  readonly json: object;
  /** The JSON text's hash, to skip re-encoding equal input given as another object; computed on first need (jsonHashOf). */
  jsonHash?: string;
  /** The names it points at in other types, found once per version. */
  refs?: References;
  /** A large resource's entry encodings (see encodeResource), reused by its next version. */
  readonly entries?: EntryEncodings;
  /** Wire fragments built from `bytes` on first use (see server-wire.ts), shared by all clients. */
  wire?: { sotw?: Uint8Array; delta?: Uint8Array };
}

/** The names a served resource of `typeUrl` points at, found once per version and kept on it (every reader shares the one walk). */
export function referencesOfResource(typeUrl: string, resource: CachedResource): References {
  return (resource.refs ??= findReferences(typeUrl, resource.json));
}

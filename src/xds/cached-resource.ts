// One resource as the snapshot store holds it: its bytes, its JSON, and what is derived from them once.
import type { References } from "./references.ts";

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
  /** A large resource's entry encodings by the hash of their JSON text (see encodeResource), reused by its next version. */
  readonly entries?: Map<string, Uint8Array>;
  /** Wire fragments built from `bytes` on first use (see server-wire.ts), shared by all clients. */
  wire?: { sotw?: Uint8Array; delta?: Uint8Array };
}

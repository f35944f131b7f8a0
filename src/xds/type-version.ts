// A type's version as the XOR of its resources' versions (each 16 hex digits, a hash of the
// resource's bytes, name included): kept up to date in O(1) per inserted, changed or removed
// resource instead of a pass over every name of the type. `typeVersionOf` is the plain reference.

/** Two 32-bit halves of a 64-bit value, XORed over a type's resources. */
export type VersionMix = readonly [number, number];

/** The mix of no resource. */
export const emptyMix: VersionMix = [0, 0];

/** `mix` with `version` added, or taken out when it was in (XOR is its own inverse). */
export function flipVersion(mix: VersionMix, version: string): VersionMix {
  return [(mix[0] ^ Number.parseInt(version.slice(0, 8), 16)) >>> 0, (mix[1] ^ Number.parseInt(version.slice(8, 16), 16)) >>> 0];
}

/** The type version a mix stands for (16 hex digits). */
export function mixVersion([high, low]: VersionMix): string {
  return `${high.toString(16).padStart(8, "0")}${low.toString(16).padStart(8, "0")}`;
}

/** The reference: the XOR of every version, computed in one pass with 64-bit integers. */
export function typeVersionOf(versions: Iterable<string>): string {
  let mix = 0n;
  for (const version of versions) mix ^= BigInt(`0x${version}`);
  return mix.toString(16).padStart(16, "0");
}

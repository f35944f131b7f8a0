// A type's version as the XOR of its resources' versions (each 16 hex digits, a hash of the
// resource's bytes, name included): kept up to date in O(1) per inserted, changed or removed
// resource instead of a pass over every name of the type. `typeVersionOf` is the plain reference.

/** Two 32-bit halves of a 64-bit value, XORed over a type's resources. */
export type VersionMix = readonly [number, number];

/** The mix of no resource. */
export const emptyMix: VersionMix = [0, 0];

/** `mix` with `version` added, or taken out when it was in (XOR is its own inverse). */
export function flipVersion(mix: VersionMix, version: string): VersionMix {
  return [(mix[0] ^ hex32(version, 0)) >>> 0, (mix[1] ^ hex32(version, 8)) >>> 0];
}

/**
 * The 32 bits of the eight hex digits of `text` at `from`, read without a substring: a publish flips
 * two versions per changed resource (every resource on a full build). Anything but eight hex
 * digits there (never, for a version) goes through parseInt, as before.
 */
function hex32(text: string, from: number): number {
  if (text.length >= from + 8) {
    let value = 0;
    let i = from;
    for (; i < from + 8; i++) {
      const code = text.charCodeAt(i);
      const digit = code >= 48 && code <= 57 ? code - 48 : code >= 97 && code <= 102 ? code - 87 : code >= 65 && code <= 70 ? code - 55 : -1;
      if (digit < 0) break;
      value = value * 16 + digit;
    }
    if (i === from + 8) return value;
  }
  return Number.parseInt(text.slice(from, from + 8), 16);
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

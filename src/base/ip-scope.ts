// What kind of address an IP literal is: Envoy is only sent unicast addresses of other hosts. Used
// for ExternalName Services (never to this host or its link-local neighbours) and for EndpointSlice
// addresses (the same rule, with loopback allowed for local development when asked).
import { isIP } from "node:net";

export type IpScope = "unicast" | "loopback" | "unspecified" | "link-local" | "multicast" | "broadcast";

/** The scope of an IPv4 or IPv6 literal (IPv4-mapped IPv6 as its IPv4 address), or undefined when `address` is not one. */
export function ipScope(address: string): IpScope | undefined {
  const v4 = dottedQuad(address);
  if (v4 !== undefined) return v4Scope(v4 >>> 24, (v4 >>> 16) & 255);
  const family = isIP(address);
  if (family === 4) {
    // A form isIP takes that dottedQuad does not (none known): its first two octets as written.
    const [a, b] = address.split(".").map(Number) as [number, number];
    return v4Scope(a, b);
  }
  if (family !== 6) return undefined;
  const groups = expandV6(address.toLowerCase());
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return v4Scope(groups[6]! >> 8, groups[6]! & 255);
  }
  if (groups.every((g) => g === 0)) return "unspecified"; // ::
  if (groups.slice(0, 7).every((g) => g === 0) && groups[7] === 1) return "loopback"; // ::1
  if ((groups[0]! & 0xffc0) === 0xfe80) return "link-local"; // fe80::/10
  if ((groups[0]! & 0xff00) === 0xff00) return "multicast"; // ff00::/8
  return "unicast";
}

/**
 * A canonical dotted quad (four decimal octets, no leading zeros: every form isIP takes as IPv4) as
 * its 32 bits, read without allocating: EndpointSlices bring one per endpoint. Undefined for anything
 * else, which isIP then judges.
 */
function dottedQuad(address: string): number | undefined {
  const length = address.length;
  if (length < 7 || length > 15) return undefined;
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < length; i++) {
    const code = address.charCodeAt(i);
    if (code === 46) {
      if (digits === 0 || ++dots > 3) return undefined;
      value = value * 256 + octet;
      octet = 0;
      digits = 0;
      continue;
    }
    if (code < 48 || code > 57 || (digits === 1 && octet === 0)) return undefined;
    octet = octet * 10 + (code - 48);
    if (octet > 255) return undefined;
    digits++;
  }
  if (dots !== 3 || digits === 0) return undefined;
  return value * 256 + octet;
}

function v4Scope(a: number, b: number): IpScope {
  if (a === 127) return "loopback";
  if (a === 0) return "unspecified"; // 0.0.0.0/8: "this network", never a destination
  if (a === 169 && b === 254) return "link-local";
  if (a >= 224 && a <= 239) return "multicast";
  if (a >= 240) return "broadcast"; // 240.0.0.0/4 reserved, 255.255.255.255 broadcast
  return "unicast";
}

/** The eight 16-bit groups of an IPv6 literal (with `::` and a trailing dotted quad expanded). */
function expandV6(address: string): number[] {
  let text = address;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4[1]!.split(".").map(Number) as [number, number, number, number];
    text = text.slice(0, -v4[1]!.length) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.split("::") as [string, string | undefined];
  const headGroups = head === "" ? [] : head.split(":");
  const tailGroups = tail === undefined || tail === "" ? [] : tail.split(":");
  const fill = tail === undefined ? [] : new Array<string>(8 - headGroups.length - tailGroups.length).fill("0");
  return [...headGroups, ...fill, ...tailGroups].map((g) => Number.parseInt(g, 16));
}

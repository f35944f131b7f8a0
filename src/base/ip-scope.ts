// What kind of address an IP literal is: Envoy is only sent unicast addresses of other hosts. Used
// for ExternalName Services (never to this host or its link-local neighbours) and for EndpointSlice
// addresses (the same rule, with loopback allowed for local development when asked).
import { isIP } from "node:net";

export type IpScope = "unicast" | "loopback" | "unspecified" | "link-local" | "multicast" | "broadcast";

/** The scope of an IPv4 or IPv6 literal (IPv4-mapped IPv6 as its IPv4 address), or undefined when `address` is not one. */
export function ipScope(address: string): IpScope | undefined {
  const family = isIP(address);
  if (family === 4) return v4Scope(address);
  if (family !== 6) return undefined;
  const groups = expandV6(address.toLowerCase());
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return v4Scope(`${groups[6]! >> 8}.${groups[6]! & 255}.${groups[7]! >> 8}.${groups[7]! & 255}`);
  }
  if (groups.every((g) => g === 0)) return "unspecified"; // ::
  if (groups.slice(0, 7).every((g) => g === 0) && groups[7] === 1) return "loopback"; // ::1
  if ((groups[0]! & 0xffc0) === 0xfe80) return "link-local"; // fe80::/10
  if ((groups[0]! & 0xff00) === 0xff00) return "multicast"; // ff00::/8
  return "unicast";
}

function v4Scope(address: string): IpScope {
  const [a, b] = address.split(".").map(Number) as [number, number];
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

// Addresses as users write them in flags ("127.0.0.1", "::1", "[::1]", "localhost") and as the
// agent prints and binds them ("[::1]:8001"): one parser and one formatter for every address flag
// and every "listening on" line, so an IPv6 address is bracketed exactly once.
import { isIP } from "node:net";

const hostName = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*\.?$/i;

/** The address without brackets, or an error: it is not an IP address or a DNS name (`zone`: it has a zone index, not supported). */
export function parseAddress(text: string): { ok: string } | { error: "zone" | "invalid" } {
  const trimmed = text.trim();
  const bracketed = /^\[(.*)\]$/.exec(trimmed);
  const address = bracketed ? bracketed[1]! : trimmed;
  if (address.includes("%")) return { error: "zone" };
  if (bracketed ? isIP(address) === 6 : isIP(address) !== 0) return { ok: address };
  if (!bracketed && address.length <= 253 && hostName.test(address)) return { ok: address };
  return { error: "invalid" };
}

/** `host:port`, an IPv6 address in brackets (once, whether or not it came with them). */
export function hostPort(address: string, port: number | string): string {
  const bare = address.replace(/^\[(.*)\]$/, "$1");
  return isIP(bare) === 6 ? `[${bare}]:${port}` : `${bare}:${port}`;
}

// HTTPProxy virtual-host policies (also usable per route): CORS, local rate limit, IP allow/deny
// filters, read into DAG form with Contour's validation and error wording.
import type { CorsPolicy, IpFilterPolicy, IpFilterRule, LocalRateLimitPolicy } from "./types.ts";
import { escapeHeaderValue, type Result } from "./httpproxy-policies.ts";
import type { CorsPolicySpec, IpFilterRuleSpec, RateLimitPolicySpec } from "./crd-types.ts";
import { canonicalHeaderKey, headerNameProblem, parseGoDuration, quote } from "./httpproxy-spec.ts";

/** Contour's toCORSPolicy. Origins that are not `scheme://host[:port]` are RE2 regexes. */
export function corsPolicy(policy: CorsPolicySpec | undefined, checkRegex: (re: string) => string | undefined): Result<CorsPolicy | undefined> {
  const p = policy;
  if (!p) return { ok: undefined };
  const origins = p.allowOrigin ?? [];
  if (origins.length === 0) return { error: "invalid allowed origin configuration with length 0" };
  const allowOrigin: string[] = [];
  const allowOriginRegex: boolean[] = [];
  for (const origin of origins) {
    if (origin === "*" || isExactOrigin(origin)) {
      allowOrigin.push(origin);
      allowOriginRegex.push(false);
    } else if (origin !== "" && checkRegex(origin) === undefined) {
      allowOrigin.push(origin);
      allowOriginRegex.push(true);
    } else {
      return { error: `invalid allowed origin ${quote(origin)}: allowed origin is invalid exact match and invalid regex match` };
    }
  }
  const allowMethods = [...(p.allowMethods ?? [])];
  if (allowMethods.length === 0) return { error: "invalid allowed methods configuration with length 0" };
  const out: CorsPolicy = {
    allowOrigin,
    allowOriginRegex,
    allowMethods,
    // Copies: the DAG never shares an array with the objects it was read from.
    allowHeaders: [...(p.allowHeaders ?? [])],
    exposeHeaders: [...(p.exposeHeaders ?? [])],
    allowCredentials: p.allowCredentials === true,
  };
  if (p.allowPrivateNetwork === true) out.allowPrivateNetwork = true;
  const maxAge = p.maxAge ?? "";
  if (maxAge !== "") {
    const ms = parseGoDuration(maxAge);
    if (typeof ms === "string") return { error: ms };
    if (ms < 0) return { error: `invalid max age value ${quote(maxAge)}` };
    out.maxAge = String(Math.floor(ms / 1000));
  }
  for (const header of [...out.allowHeaders, ...out.exposeHeaders]) {
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(header)) return { error: `invalid header name ${quote(header)}` };
  }
  return { ok: out };
}

function isExactOrigin(origin: string): boolean {
  try {
    const url = new URL(origin);
    return url.host !== "" && `${url.protocol}//${url.host}` === origin;
  } catch {
    return false;
  }
}

const units: Record<string, number> = { second: 1000, minute: 60_000, hour: 3_600_000 };

/** The 4xx and 5xx codes of Envoy's `envoy.type.v3.StatusCode`: the only ones a local rate limit may answer with. */
const envoyErrorStatusCodes = new Set([
  400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 421, 422, 423, 424, 426, 428, 429, 431,
  500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511,
]);

/** Contour's localRateLimitPolicy. A `global` policy needs a rate limit service isobar does not run. */
export function localRateLimit(policy: RateLimitPolicySpec | undefined): Result<LocalRateLimitPolicy | undefined> {
  const local = policy?.local;
  if (!local) return { ok: undefined };
  const requests = local.requests ?? 0;
  if (requests <= 0) return { error: `invalid requests value ${requests} in local rate limit policy` };
  const fillIntervalMs = units[local.unit ?? ""];
  if (fillIntervalMs === undefined) return { error: `invalid unit ${quote(local.unit ?? "")} in local rate limit policy` };
  const maxTokens = requests + Math.max(0, local.burst ?? 0);
  // Envoy's token bucket counts in 32 bits; past that the values would wrap (to 0: rejected).
  if (maxTokens > 4294967295) return { error: `requests plus burst ${maxTokens} exceeds 4294967295 in local rate limit policy` };
  const out: LocalRateLimitPolicy = { maxTokens, tokensPerFill: requests, fillIntervalMs };
  const statusCode = local.responseStatusCode ?? 0;
  if (statusCode !== 0 && !envoyErrorStatusCodes.has(statusCode)) {
    return { error: `invalid response status code ${statusCode} in local rate limit policy: must be an HTTP error status Envoy knows (400-511)` };
  }
  if (statusCode > 0) out.responseStatusCode = statusCode;
  const seen = new Set<string>();
  for (const header of local.responseHeadersToAdd ?? []) {
    const name = canonicalHeaderKey(header.name ?? "");
    if (seen.has(name)) return { error: `duplicate header addition: ${quote(name)}` };
    const problem = headerNameProblem(name);
    if (problem) return { error: `invalid header name ${quote(name)}: ${problem}` };
    if (/[\r\n\0]/.test(header.value ?? "")) return { error: `invalid header value for ${quote(name)}` };
    seen.add(name);
    (out.responseHeaders ??= []).push({ name, value: escapeHeaderValue(header.value ?? "", {}) });
  }
  return { ok: out };
}

/** A CIDR (or bare address) normalised to its network, or undefined when it does not parse. */
export function parseCidr(input: string): string | undefined {
  const slash = input.indexOf("/");
  const address = slash < 0 ? input : input.slice(0, slash);
  const v4 = parseIpv4(address);
  const bytes = v4 ?? parseIpv6(address);
  if (!bytes) return undefined;
  const bits = bytes.length * 8;
  let prefix = bits;
  if (slash >= 0) {
    const text = input.slice(slash + 1);
    if (!/^[0-9]{1,3}$/.test(text)) return undefined;
    prefix = Number(text);
    if (prefix > bits) return undefined;
  }
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    bytes[i] = bytes[i]! & ((0xff << (8 - keep)) & 0xff);
  }
  return `${v4 ? bytes.join(".") : formatIpv6(bytes)}/${prefix}`;
}

function parseIpv4(text: string): number[] | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const out: number[] = [];
  for (const part of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(part) || Number(part) > 255) return undefined;
    out.push(Number(part));
  }
  return out;
}

function parseIpv6(text: string): number[] | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  const halves = text.split("::");
  if (halves.length > 2) return undefined;
  const groups = (half: string): number[] | undefined => {
    if (half === "") return [];
    const out: number[] = [];
    const parts = half.split(":");
    for (const [i, part] of parts.entries()) {
      if (i === parts.length - 1 && part.includes(".")) {
        const v4 = parseIpv4(part);
        if (!v4) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9a-fA-F]{1,4}$/.test(part)) out.push(parseInt(part, 16));
      else return undefined;
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const all = [...head, ...Array<number>(missing).fill(0), ...tail];
  return all.flatMap((g) => [g >> 8, g & 0xff]);
}

function formatIpv6(bytes: number[]): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((bytes[i]! << 8) | bytes[i + 1]!);
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [bestStart, bestLen] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}

export interface IpFilterResult {
  filter?: IpFilterPolicy;
  /** Contour's IPFilterError sub-conditions: [reason, message]. */
  errors: Array<[string, string]>;
}

/** Contour's toIPFilterRules: allow and deny together are refused; each CIDR must parse. */
export function ipFilter(allowPolicy: IpFilterRuleSpec[] | undefined, denyPolicy: IpFilterRuleSpec[] | undefined): IpFilterResult {
  const allow = allowPolicy ?? [];
  const deny = denyPolicy ?? [];
  if (allow.length > 0 && deny.length > 0) {
    return { errors: [["IncompatibleIPAddressFilters", "cannot specify both `ipAllowPolicy` and `ipDenyPolicy`"]] };
  }
  const policies = allow.length > 0 ? allow : deny;
  if (policies.length === 0) return { errors: [] };
  const errors: Array<[string, string]> = [];
  const rules: IpFilterRule[] = [];
  for (const p of policies) {
    const cidrText = p.cidr ?? "";
    const cidr = parseCidr(cidrText);
    if (!cidr) {
      const full = cidrText.includes("/") ? cidrText : `${cidrText}${cidrText.includes(":") ? "/128" : "/32"}`;
      errors.push(["InvalidCIDR", `${cidrText} failed to parse: invalid CIDR address: ${full}`]);
      continue;
    }
    rules.push({ cidr, remote: p.source === "Remote" });
  }
  if (errors.length > 0) return { errors };
  return { filter: { allow: allow.length > 0, rules }, errors };
}

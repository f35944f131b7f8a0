// The values of an HTTPRoute rule that become route policies rather than matches or backends: the
// CORS filter (GEP-1767) and sessionPersistence (GEP-1619), checked as the spec words them, and
// Gateway API durations. What Envoy cannot do as the spec asks is a problem (the rule's
// UnsupportedValue), never silently left out.
import { createHash } from "node:crypto";
import type { HTTPCORSFilter, SessionPersistenceSpec } from "./gateway-api-types.ts";
import type { BuildContext } from "./processor.ts";
import type { CorsPolicy, PathMatch, SessionPersistence } from "./types.ts";

/** A Gateway API duration (`1h2m3s`, `500ms`) in ms, or undefined when it does not parse. */
export function gatewayDuration(text: string): number | undefined {
  if (!/^([0-9]{1,5}(h|m|s|ms)){1,4}$/.test(text)) return undefined;
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/([0-9]+)(ms|h|m|s)/g)) total += Number(amount) * units[unit!]!;
  return total;
}

const escapeRegex = (text: string) => text.replace(/[\\^$.*+?()[\]{}|]/g, "\\$&");

/**
 * The CORS filter as Envoy's CORS policy. An origin is `*` (every origin), an exact origin, or one
 * whose host starts with `*`: a greedy match of any labels to its left (`https://*.bar.com` takes
 * `https://www.bar.com` and `https://a.www.bar.com`), an RE2 regex here. Envoy answers with the
 * request's own origin, which the spec asks for when credentials are allowed and permits otherwise.
 */
export function gatewayCorsPolicy(ctx: BuildContext, cors: HTTPCORSFilter, problems: string[]): CorsPolicy {
  const allowOrigin: string[] = [];
  const allowOriginRegex: boolean[] = [];
  for (const origin of cors.allowOrigins ?? []) {
    const wildcard = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)\*([^*]*)$/.exec(origin);
    if (origin === "*" || !origin.includes("*")) {
      allowOrigin.push(origin);
      allowOriginRegex.push(false);
    } else if (wildcard) {
      const regex = `(?i)${escapeRegex(wildcard[1]!)}[A-Za-z0-9.-]+${escapeRegex(wildcard[2]!)}`;
      const problem = ctx.checkRegex(regex);
      if (problem) problems.push(`CORS allowOrigins ${JSON.stringify(origin)}: ${problem}`);
      allowOrigin.push(regex);
      allowOriginRegex.push(true);
    } else problems.push(`CORS allowOrigins ${JSON.stringify(origin)}: a wildcard stands alone or first in the host (https://*.example.com)`);
  }
  const allowMethods = cors.allowMethods ?? [];
  if (allowMethods.includes("*") && allowMethods.length > 1) problems.push("CORS allowMethods cannot contain '*' alongside other methods");
  const maxAge = cors.maxAge ?? 5; // the CRD's default
  if (!Number.isInteger(maxAge) || maxAge < 1) problems.push(`CORS maxAge ${maxAge} must be a whole number of seconds, at least 1`);
  return {
    allowOrigin,
    allowOriginRegex,
    allowMethods,
    allowHeaders: cors.allowHeaders ?? [],
    exposeHeaders: cors.exposeHeaders ?? [],
    maxAge: String(maxAge),
    allowCredentials: cors.allowCredentials === true,
  };
}

/** A cookie or header name: an HTTP token. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * A rule's sessionPersistence, kept by Envoy's stateful session filter: the cookie (or header) it
 * sets names the endpoint that answered, and a request that carries it goes to that endpoint while
 * it is one of the route's. Without a sessionName, the name is derived from the rule (`rule`), so
 * two rules never share a session. The cookie's path is its match's (see `cookiePath`).
 */
export function gatewaySessionPersistence(spec: SessionPersistenceSpec, rule: string, problems: string[]): SessionPersistence | undefined {
  const type = spec.type ?? "Cookie";
  const name = spec.sessionName ?? `${type === "Cookie" ? "" : "x-"}session-${createHash("sha256").update(rule).digest("hex").slice(0, 10)}`;
  const before = problems.length;
  if (!TOKEN.test(name)) problems.push(`sessionPersistence sessionName ${JSON.stringify(name)} must be an HTTP token (letters, digits and !#$%&'*+-.^_\`|~)`);
  if (spec.idleTimeout !== undefined) problems.push("sessionPersistence idleTimeout is not supported: Envoy's stateful session has no idle expiry");
  const absolute = spec.absoluteTimeout === undefined ? undefined : gatewayDuration(spec.absoluteTimeout);
  if (spec.absoluteTimeout !== undefined && absolute === undefined) problems.push(`sessionPersistence absoluteTimeout ${JSON.stringify(spec.absoluteTimeout)} must be a Gateway API duration such as 1h`);
  if (type === "Header") {
    if (spec.absoluteTimeout !== undefined) problems.push("sessionPersistence absoluteTimeout is not supported with type Header: Envoy's header session has no expiry");
    return problems.length > before ? undefined : { kind: "header", name: name.toLowerCase() };
  }
  if (type !== "Cookie") {
    problems.push(`sessionPersistence type ${type} is not supported (Cookie and Header are)`);
    return undefined;
  }
  const permanent = spec.cookieConfig?.lifetimeType === "Permanent";
  if (permanent && spec.absoluteTimeout === undefined) problems.push("sessionPersistence with a Permanent cookie needs absoluteTimeout");
  else if (permanent && absolute === 0) problems.push("sessionPersistence absoluteTimeout of a Permanent cookie must be more than 0");
  else if (!permanent && spec.absoluteTimeout !== undefined) {
    problems.push("sessionPersistence absoluteTimeout is supported with lifetimeType Permanent only: Envoy bounds a session only by the cookie's Max-Age, which a Session cookie must not have");
  }
  if (problems.length > before) return undefined;
  return permanent && absolute ? { kind: "cookie", name, path: "/", ttlMs: absolute } : { kind: "cookie", name, path: "/" };
}

/**
 * The path a session cookie is sent back on: the match's own, so a cookie of one rule is not sent
 * to another's paths (a browser's path-match is by segments, as a PathPrefix); `/` for a regex.
 */
export function cookiePath(path: PathMatch): string {
  return path.kind === "regex" ? "/" : path.value;
}

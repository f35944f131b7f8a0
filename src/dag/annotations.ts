// Contour's annotations, parsed once for every processor: durations ("10s", "infinity"), retry
// settings, TLS versions, upstream protocols and circuit breakers. Parsers return either a value or
// why the text is not one, so a processor can record a warning and fall back to the default.
import type { CircuitBreakers, TlsVersion, UpstreamProtocol } from "./types.ts";

export type Parsed<T> = { ok: T } | { error: string };

/** The value of `projectcontour.io/<name>` on an object, if set. */
export function contourAnnotation(annotations: Record<string, string> | undefined, name: string): string | undefined {
  // Asked several times for every Service and Ingress of a build, most of them without annotations.
  if (annotations === undefined || annotations === null) return undefined;
  return annotationValue(annotations, contourKey(name));
}

// The annotation keys, written once each (the names are the code's own, a few dozen).
const contourKeys = new Map<string, string>();

function contourKey(name: string): string {
  let key = contourKeys.get(name);
  if (key === undefined) contourKeys.set(name, (key = `projectcontour.io/${name}`));
  return key;
}

/**
 * An annotation's value as text. Kubernetes only stores strings, but an unquoted YAML value in a
 * manifest file (`num-retries: 3`) arrives as a number or boolean.
 */
export function annotationValue(annotations: Record<string, string> | undefined, key: string): string | undefined {
  const value: unknown = annotations?.[key];
  if (value === undefined || value === null) return undefined;
  return typeof value === "string" ? value : String(value);
}

const durationUnitsMs: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  "μs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Parses a Go duration ("1.5s", "1m30s", "250ms", "0") into milliseconds. */
export function parseGoDuration(text: string): Parsed<number> {
  const value = text.trim();
  if (value === "0") return { ok: 0 };
  const part = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;
  let rest = value;
  let total = 0;
  if (rest === "") return { error: `invalid duration ""` };
  while (rest !== "") {
    const match = part.exec(rest);
    if (!match) return { error: `invalid duration "${text}"` };
    total += Number(match[1]) * (durationUnitsMs[match[2] as string] as number);
    rest = rest.slice(match[0].length);
  }
  if (!Number.isFinite(total) || total > 315_576_000_000_000) return { error: `duration "${text}" is out of range` };
  return { ok: Math.round(total) };
}

/**
 * A timeout as Contour reads it: a Go duration, or "infinity" / "infinite" for none (0 ms, which
 * the translator turns into Envoy's "disabled").
 */
export function parseTimeout(text: string): Parsed<number> {
  const value = text.trim();
  if (value === "infinity" || value === "infinite") return { ok: 0 };
  return parseGoDuration(value);
}

/** Envoy's `retry_on` conditions for HTTP and gRPC routes. */
export const retryOnConditions: ReadonlySet<string> = new Set([
  "5xx",
  "gateway-error",
  "reset",
  "reset-before-request",
  "connect-failure",
  "envoy-ratelimited",
  "retriable-4xx",
  "refused-stream",
  "retriable-status-codes",
  "retriable-headers",
  "http3-post-connect-failure",
  "cancelled",
  "deadline-exceeded",
  "internal",
  "resource-exhausted",
  "unavailable",
]);

/** A comma-separated `retry-on` list; unknown conditions are reported and left out. */
export function parseRetryOn(text: string): { conditions: string[]; unknown: string[] } {
  const conditions: string[] = [];
  const unknown: string[] = [];
  for (const item of text.split(",")) {
    const condition = item.trim();
    if (condition === "") continue;
    if (retryOnConditions.has(condition)) {
      if (!conditions.includes(condition)) conditions.push(condition);
    } else unknown.push(condition);
  }
  return { conditions, unknown };
}

/** Contour's `num-retries`: unset or 0 means 1 (Envoy's default), -1 means no retries. */
export function parseNumRetries(text: string | undefined): Parsed<number> {
  if (text === undefined || text.trim() === "") return { ok: 1 };
  const value = text.trim();
  if (!/^-?\d+$/.test(value)) return { error: `"${text}" is not an integer` };
  const n = Number(value);
  if (n === -1) return { ok: 0 };
  if (n < 0 || n > 4294967295) return { error: `"${text}" is out of range` };
  return { ok: n === 0 ? 1 : n };
}

/** A TLS protocol version: "1.2" or "1.3". */
export function parseTlsVersion(text: string): Parsed<TlsVersion> {
  const value = text.trim();
  if (value === "1.2" || value === "1.3") return { ok: value };
  return { error: `"${text}" is not a supported TLS version (1.2, 1.3)` };
}

/** An unsigned 32-bit integer, as the circuit-breaker annotations take. */
export function parseUint32(text: string): Parsed<number> {
  const value = text.trim();
  if (!/^\d+$/.test(value)) return { error: `"${text}" is not an unsigned integer` };
  const n = Number(value);
  if (n > 4294967295) return { error: `"${text}" is out of range` };
  return { ok: n };
}

/**
 * `projectcontour.io/upstream-protocol.{h2,h2c,tls}: "80,https"`: Service port names or numbers
 * (as text) to the protocol their upstream speaks.
 */
export function parseUpstreamProtocols(annotations: Record<string, string> | undefined): Map<string, UpstreamProtocol> {
  const protocols = new Map<string, UpstreamProtocol>();
  for (const protocol of ["h2", "h2c", "tls"] as const) {
    const ports = contourAnnotation(annotations, `upstream-protocol.${protocol}`);
    if (ports === undefined) continue;
    for (const item of ports.split(",")) {
      const port = item.trim();
      if (port !== "") protocols.set(port, protocol);
    }
  }
  return protocols;
}

const circuitBreakerAnnotations: Array<[string, keyof CircuitBreakers]> = [
  ["max-connections", "maxConnections"],
  ["max-pending-requests", "maxPendingRequests"],
  ["max-requests", "maxRequests"],
  ["max-retries", "maxRetries"],
  ["per-host-max-connections", "perHostMaxConnections"],
];

/**
 * Circuit breakers from a Service's `projectcontour.io/max-connections` family. Values that are
 * not unsigned integers are ignored (as Contour does) and reported in `invalid`.
 */
export function parseCircuitBreakers(annotations: Record<string, string> | undefined): {
  circuitBreakers?: CircuitBreakers;
  invalid: string[];
} {
  const circuitBreakers: CircuitBreakers = {};
  const invalid: string[] = [];
  let any = false;
  for (const [name, field] of circuitBreakerAnnotations) {
    const text = contourAnnotation(annotations, name);
    if (text === undefined) continue;
    const parsed = parseUint32(text);
    if ("ok" in parsed) {
      circuitBreakers[field] = parsed.ok;
      any = true;
    } else invalid.push(`projectcontour.io/${name}: ${parsed.error}`);
  }
  return any ? { circuitBreakers, invalid } : { invalid };
}

/** `projectcontour.io/websocket-routes: "/ws, /chat"`: the paths whose routes upgrade to websockets. */
export function parseWebsocketRoutes(annotations: Record<string, string> | undefined): Set<string> {
  const routes = new Set<string>();
  for (const item of (contourAnnotation(annotations, "websocket-routes") ?? "").split(",")) {
    const route = item.trim();
    if (route !== "") routes.add(route);
  }
  return routes;
}

// Small building blocks every translator file shares: our JSON form of Envoy's durations, Anys,
// addresses and config sources, the type names of the resources we emit, and deterministic sorting.
import { compareStrings } from "../base/values.ts";
import { root, typeUrl } from "../xds/registry.ts";

// Code-unit order (not locale), shared by every stage; re-exported for the translators.
export { compareStrings };

/** A resource or message in our JSON form (proto field names, enums as names, Any with "@type"). */
export type JsonObject = Record<string, unknown>;

/** The full proto names of the resources the translator emits, by their place in a snapshot. */
export const resourceTypes = {
  listeners: "envoy.config.listener.v3.Listener",
  routes: "envoy.config.route.v3.RouteConfiguration",
  clusters: "envoy.config.cluster.v3.Cluster",
  endpoints: "envoy.config.endpoint.v3.ClusterLoadAssignment",
  secrets: "envoy.extensions.transport_sockets.tls.v3.Secret",
} as const;

// One type URL string per message type (a few dozen), not a new one per Any: a TLS listener has
// two Anys per filter chain, 50k chains at 100k Ingresses.
const typeUrls = new Map<string, string>();

/** An Any in our JSON form: `{"@type": url, ...fields}`. */
export function any(fullName: string, fields: JsonObject = {}): JsonObject {
  let url = typeUrls.get(fullName);
  if (url === undefined) typeUrls.set(fullName, (url = typeUrl(fullName)));
  return { "@type": url, ...fields };
}

/** Milliseconds as a proto3 JSON duration: 1500 → "1.5s", 0 → "0s". */
export function duration(ms: number): string {
  let text = durations.get(ms);
  if (text === undefined) {
    text = durationText(ms);
    // A few distinct values (the configured timeouts) serve every cluster and listener: one string each.
    if (durations.size < 1000) durations.set(ms, text);
  }
  return text;
}

const durations = new Map<number, string>();

function durationText(ms: number): string {
  const whole = Math.max(0, Math.round(ms));
  const seconds = Math.floor(whole / 1000);
  const millis = whole % 1000;
  if (millis === 0) return `${seconds}s`;
  return `${seconds}.${String(millis).padStart(3, "0").replace(/0+$/, "")}s`;
}

/** Where dynamic resources come from: the ADS stream, xDS v3. */
export function adsConfigSource(): JsonObject {
  return { ads: {}, resource_api_version: "V3" };
}

/** A TCP socket address; `::` listens on IPv4 too, as Contour does. */
export function socketAddress(address: string, port: number): JsonObject {
  const socket: JsonObject = { address, port_value: port };
  if (address === "::") socket.ipv4_compat = true;
  return { socket_address: socket };
}

/** The name of an enum value (`envoy.type.v3.StatusCode`, 429 → "TooManyRequests"), or the number itself. */
export function enumName(enumFullName: string, value: number): string | number {
  return root.lookupEnum(enumFullName).valuesById[value] ?? value;
}


/** A sorted copy, by a string key. */
export function sortedBy<T>(items: Iterable<T>, key: (item: T) => string): T[] {
  return [...items].sort((a, b) => compareStrings(key(a), key(b)));
}

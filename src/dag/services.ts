// Resolving a backend reference to a Service port: the port by number or name, the upstream
// protocol and circuit breakers from the Service's annotations, and the ExternalName rules (off
// unless enabled, never to this host or its link-local neighbours: GHSA-5ph6-qq5x-7jwc).
import { isIP } from "node:net";
import type { KubeObject } from "../sources/types.ts";
import { parseCircuitBreakers, parseUpstreamProtocols } from "./annotations.ts";
import { ipScope } from "../base/ip-scope.ts";
import type { DagInput, Lookup, ResolvedService } from "./processor.ts";
import type { UpstreamProtocol } from "./types.ts";

interface ServicePortSpec {
  name?: string;
  port?: number;
  protocol?: string;
  appProtocol?: string;
  targetPort?: number | string;
}

interface ServiceSpec {
  type?: string;
  externalName?: string;
  ports?: ServicePortSpec[];
}

export interface ServiceLookupOptions {
  enableExternalNameService: boolean;
}

function unresolved(cause: string): { error: { type: string; reason: string; message: string }; cause: string } {
  return {
    error: { type: "ServiceError", reason: "ServiceUnresolvedReference", message: `Spec.Routes unresolved service reference: ${cause}` },
    cause,
  };
}

/**
 * Resolves `namespace/name` and a port (number, numeric text or port name) against the Service's
 * spec.ports. Errors carry Contour's wording (`service "ns/name" not found`, `port "x" on service
 * "ns/name" not matched`) in `cause`, and in `error.message` after "Spec.Routes unresolved service
 * reference: ".
 */
export function resolveService(
  input: DagInput,
  ref: { namespace: string; name: string; port: number | string },
  options: ServiceLookupOptions,
): Lookup<ResolvedService> {
  const key = `${ref.namespace}/${ref.name}`;
  const service = input.service(ref.namespace, ref.name);
  if (!service) return unresolved(`service "${key}" not found`);
  const spec = (service.spec ?? {}) as ServiceSpec;
  const wanted = typeof ref.port === "string" && /^\d+$/.test(ref.port) ? Number(ref.port) : ref.port;
  const ports = Array.isArray(spec.ports) ? spec.ports.filter((p) => typeof p === "object" && p !== null) : [];
  const port = ports.find((p) => (typeof wanted === "number" ? p.port === wanted : p.name === wanted && wanted !== ""));
  if (!port || typeof port.port !== "number") return unresolved(`port "${String(ref.port)}" on service "${key}" not matched`);
  if (port.protocol !== undefined && port.protocol !== "" && port.protocol !== "TCP") {
    return unresolved(`unsupported service protocol "${port.protocol}"`);
  }
  const externalName = externalNameOf(service);
  if (externalName !== undefined) {
    const refused = refuseExternalName(key, externalName, options);
    if (refused) return unresolved(refused);
  }
  const fromAppProtocol = port.appProtocol === undefined || port.appProtocol === null ? undefined : appProtocolOf(port.appProtocol);
  const protocols = fromAppProtocol ? undefined : parseUpstreamProtocols(service.metadata.annotations);
  const serviceProtocol = fromAppProtocol ? fromAppProtocol.protocol : (protocols!.get(port.name ?? "") ?? protocols!.get(String(port.port)));
  const { circuitBreakers, invalid } = parseCircuitBreakers(service.metadata.annotations);
  const resolved: ResolvedService = {
    namespace: ref.namespace,
    name: ref.name,
    port: port.port,
    portName: port.name ?? "",
  };
  if (port.targetPort !== undefined) resolved.targetPort = port.targetPort;
  if (serviceProtocol) resolved.serviceProtocol = serviceProtocol;
  if (externalName !== undefined) resolved.externalName = externalName;
  if (circuitBreakers) resolved.circuitBreakers = circuitBreakers;
  if (invalid.length > 0) resolved.annotationProblems = invalid;
  if (fromAppProtocol?.problem) resolved.appProtocolProblem = fromAppProtocol.problem;
  return { ok: resolved };
}

/** Contour's mapping of a Service port's appProtocol (which, when set, overrides the annotations). */
const appProtocols: ReadonlyMap<string, UpstreamProtocol | undefined> = new Map([
  ["kubernetes.io/h2c", "h2c"],
  ["https", "tls"],
  ["kubernetes.io/ws", undefined], // WebSockets are HTTP/1.1 upgrades
  ["http", undefined],
]);

/** The upstream protocol of an appProtocol; a value Contour does not map is HTTP/1.1, with a problem to report. */
export function appProtocolOf(appProtocol: unknown): { protocol?: UpstreamProtocol; problem?: string } {
  const text = typeof appProtocol === "string" ? appProtocol : JSON.stringify(appProtocol);
  if (appProtocols.has(text)) {
    const protocol = appProtocols.get(text);
    return protocol ? { protocol } : {};
  }
  return { problem: `appProtocol ${JSON.stringify(text)} is not supported (kubernetes.io/h2c, kubernetes.io/ws, http, https are); the port is spoken to as HTTP/1.1` };
}

function externalNameOf(service: KubeObject): string | undefined {
  const spec = (service.spec ?? {}) as ServiceSpec;
  if (spec.type !== "ExternalName") return undefined;
  return (typeof spec.externalName === "string" ? spec.externalName : "").trim().toLowerCase().replace(/\.$/, "");
}

const localHostNames = new Set(["localhost", "localhost.localdomain", "local.projectcontour.io", "ip6-localhost", "ip6-loopback"]);

/** Why an ExternalName Service may not be used, or undefined when it may. */
function refuseExternalName(key: string, externalName: string, options: ServiceLookupOptions): string | undefined {
  if (!options.enableExternalNameService) {
    return `${key} is an ExternalName service, these are not currently enabled. See the config.enableExternalNameService config file setting`;
  }
  if (externalName === "") return `${key} is an ExternalName service with an empty externalName`;
  if (localHostNames.has(externalName) || externalName.endsWith(".localhost")) {
    return `${key} is an ExternalName service that points to localhost, this is not allowed`;
  }
  if (isForbiddenAddress(externalName)) {
    return `${key} is an ExternalName service that points to a loopback, link-local or unspecified address, this is not allowed`;
  }
  return undefined;
}

/** Loopback, link-local and unspecified IPv4/IPv6 addresses (also IPv4-mapped IPv6). */
export function isForbiddenAddress(host: string): boolean {
  const address = host.replace(/^\[|\]$/g, "").replace(/\.$/, "").toLowerCase();
  // Resolvers read inet_aton's shorthands as addresses: 127.1, 2130706433, 0x7f.1 are loopback.
  const scope = ipScope(isIP(address) === 0 ? (inetAton(address) ?? address) : address);
  return scope === "loopback" || scope === "unspecified" || scope === "link-local";
}

/** The dotted quad inet_aton reads `text` as (1 to 4 parts, decimal, octal or hex), or undefined. */
export function inetAton(text: string): string | undefined {
  const parts = text.split(".");
  if (parts.length > 4 || !parts.every((p) => /^(0x[0-9a-f]+|0[0-7]*|[1-9][0-9]*)$/.test(p))) return undefined;
  const numbers = parts.map((p) => (p.startsWith("0x") ? Number.parseInt(p.slice(2), 16) : p.length > 1 && p.startsWith("0") ? Number.parseInt(p, 8) : Number(p)));
  const last = numbers.pop()!;
  if (numbers.some((n) => n > 255) || last >= 2 ** (8 * (4 - numbers.length))) return undefined;
  let value = last;
  numbers.forEach((n, i) => (value += n * 2 ** (8 * (3 - i))));
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join(".");
}

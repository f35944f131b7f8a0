// Contour's rules for the values both configuration forms share: access log JSON fields and format
// strings, TLS versions and cipher suites, header policies, namespace/name references.
import type { TlsVersion } from "../dag/types.ts";
import { ConfigError } from "./error.ts";
import type { GlobalHeadersPolicy, SecretName } from "./types.ts";
import type { Reader } from "./read.ts";

/** Contour's default JSON access log fields. */
export const defaultJsonFields = [
  "@timestamp", "authority", "bytes_received", "bytes_sent", "downstream_local_address", "downstream_remote_address", "duration",
  "method", "path", "protocol", "request_id", "requested_server_name", "response_code", "response_flags", "uber_trace_id",
  "upstream_cluster", "upstream_host", "upstream_local_address", "upstream_service_time", "user_agent", "x_forwarded_for",
  "grpc_status", "grpc_status_number",
];

/** Contour's named fields whose operator is not simply the upper-cased name. */
const namedFields: Record<string, string> = {
  "@timestamp": "%START_TIME%",
  ts: "%START_TIME%",
  authority: "%REQ(:AUTHORITY)%",
  method: "%REQ(:METHOD)%",
  path: "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
  request_id: "%REQ(X-REQUEST-ID)%",
  uber_trace_id: "%REQ(UBER-TRACE-ID)%",
  upstream_service_time: "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%",
  user_agent: "%REQ(USER-AGENT)%",
  x_forwarded_for: "%REQ(X-FORWARDED-FOR)%",
  x_trace_id: "%REQ(X-TRACE-ID)%",
};

/** Envoy's command operators without arguments that a bare field name may stand for. */
const simpleOperators = new Set(
  ("BYTES_RECEIVED BYTES_SENT CONNECTION_ID CONNECTION_TERMINATION_DETAILS DOWNSTREAM_DIRECT_REMOTE_ADDRESS DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT " +
    "DOWNSTREAM_DIRECT_REMOTE_PORT DOWNSTREAM_HEADER_BYTES_RECEIVED DOWNSTREAM_HEADER_BYTES_SENT DOWNSTREAM_LOCAL_ADDRESS DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT " +
    "DOWNSTREAM_LOCAL_PORT DOWNSTREAM_LOCAL_SUBJECT DOWNSTREAM_LOCAL_URI_SAN DOWNSTREAM_PEER_CERT DOWNSTREAM_PEER_CERT_V_END DOWNSTREAM_PEER_CERT_V_START " +
    "DOWNSTREAM_PEER_FINGERPRINT_1 DOWNSTREAM_PEER_FINGERPRINT_256 DOWNSTREAM_PEER_ISSUER DOWNSTREAM_PEER_SERIAL DOWNSTREAM_PEER_SUBJECT DOWNSTREAM_PEER_URI_SAN " +
    "DOWNSTREAM_REMOTE_ADDRESS DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT DOWNSTREAM_REMOTE_PORT DOWNSTREAM_TLS_CIPHER DOWNSTREAM_TLS_SESSION_ID DOWNSTREAM_TLS_VERSION " +
    "DOWNSTREAM_WIRE_BYTES_RECEIVED DOWNSTREAM_WIRE_BYTES_SENT DURATION FILTER_CHAIN_NAME GRPC_STATUS GRPC_STATUS_NUMBER HOSTNAME LOCAL_REPLY_BODY PROTOCOL " +
    "REQUEST_HEADERS_BYTES REQUESTED_SERVER_NAME REQUEST_DURATION REQUEST_TX_DURATION RESPONSE_CODE RESPONSE_CODE_DETAILS RESPONSE_DURATION RESPONSE_FLAGS " +
    "RESPONSE_HEADERS_BYTES RESPONSE_TRAILERS_BYTES RESPONSE_TX_DURATION ROUTE_NAME START_TIME UPSTREAM_CLUSTER UPSTREAM_FILTER_STATE UPSTREAM_HEADER_BYTES_RECEIVED " +
    "UPSTREAM_HEADER_BYTES_SENT UPSTREAM_HOST UPSTREAM_LOCAL_ADDRESS UPSTREAM_LOCAL_ADDRESS_WITHOUT_PORT UPSTREAM_LOCAL_PORT UPSTREAM_PEER_CERT UPSTREAM_PEER_CERT_V_END " +
    "UPSTREAM_PEER_CERT_V_START UPSTREAM_PEER_ISSUER UPSTREAM_PEER_SUBJECT UPSTREAM_PROTOCOL UPSTREAM_REMOTE_ADDRESS UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT " +
    "UPSTREAM_REMOTE_PORT UPSTREAM_REQUEST_ATTEMPT_COUNT UPSTREAM_TLS_CIPHER UPSTREAM_TLS_SESSION_ID UPSTREAM_TLS_VERSION UPSTREAM_TRANSPORT_FAILURE_REASON " +
    "UPSTREAM_WIRE_BYTES_RECEIVED UPSTREAM_WIRE_BYTES_SENT VIRTUAL_CLUSTER_NAME").split(" "),
);

/** Operators that take arguments: (args optional, truncation allowed). */
const complexOperators: Record<string, { argsOptional: boolean; truncate: boolean }> = {
  ENVIRONMENT: { argsOptional: false, truncate: true },
  REQ: { argsOptional: false, truncate: true },
  RESP: { argsOptional: false, truncate: true },
  TRAILER: { argsOptional: false, truncate: true },
  START_TIME: { argsOptional: true, truncate: false },
};

/** Checks the command operators of an access log format; throws naming the first bad one. */
function checkFormatOperators(path: string, format: string): void {
  for (const match of format.matchAll(/%(([A-Z_]+)(\([^)]+\)(:[0-9]+)?)?%)?/g)) {
    if (match[0] === "%") throw new ConfigError(`${path}: a lone "%" (write %% for a literal percent sign)`);
    const operator = match[2]!;
    const hasArgs = match[3] !== undefined;
    if (simpleOperators.has(operator) && !hasArgs) continue;
    const complex = complexOperators[operator];
    if (!complex) throw new ConfigError(`${path}: unknown or unsupported command operator %${operator}%`);
    if (!hasArgs && !complex.argsOptional) throw new ConfigError(`${path}: %${operator}% needs an argument, as %${operator}(...)%`);
    if (match[4] !== undefined && !complex.truncate) throw new ConfigError(`${path}: %${operator}% cannot be truncated`);
  }
}

/** Contour's JSON fields (bare names or name=%OPERATOR%) as field → operator. */
export function jsonFieldMap(path: string, fields: string[]): Record<string, string> {
  const map: Record<string, string> = {};
  for (const field of fields) {
    const eq = field.indexOf("=");
    if (eq >= 0) {
      const value = field.slice(eq + 1);
      if (value === "") throw new ConfigError(`${path}: invalid JSON log field ${field}`);
      checkFormatOperators(path, value);
      map[field.slice(0, eq)] = value;
      continue;
    }
    const operator = namedFields[field] ?? (simpleOperators.has(field.toUpperCase()) ? `%${field.toUpperCase()}%` : undefined);
    if (!operator) throw new ConfigError(`${path}: invalid JSON log field name ${field}`);
    map[field] = operator;
  }
  return map;
}

/** A custom envoy-format access log: valid operators and a final newline. */
export function checkFormatString(path: string, format: string): void {
  checkFormatOperators(path, format);
  if (!format.endsWith("\n")) throw new ConfigError(`${path}: an access log format must end in a newline`);
}

const validCiphers = new Set([
  "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305", "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES128-SHA", "ECDHE-RSA-AES128-SHA", "AES128-GCM-SHA256", "AES128-SHA", "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-AES256-SHA", "ECDHE-RSA-AES256-SHA", "AES256-GCM-SHA384", "AES256-SHA",
]);

/** Cipher suites Contour accepts; a bracketed [A|B] group is an equal-preference group of valid ones. */
export function cipherSuites(path: string, suites: string[]): string[] {
  const out: string[] = [];
  for (const raw of suites) {
    const suite = raw.trim();
    const members = suite.startsWith("[") && suite.endsWith("]") ? suite.slice(1, -1).split("|") : [suite];
    for (const member of members) if (!validCiphers.has(member.trim())) throw new ConfigError(`${path}: invalid TLS cipher suite ${JSON.stringify(member.trim())}`);
    if (!out.includes(suite)) out.push(suite);
  }
  return out;
}

/** The minimum and maximum TLS versions (1.2 and 1.3), minimum not above maximum. */
export function tlsVersions(reader: Reader, minPath: string, maxPath: string): { minVersion: TlsVersion; maxVersion: TlsVersion } {
  const minVersion = reader.choice(minPath, ["1.2", "1.3"] as const) ?? "1.2";
  const maxVersion = reader.choice(maxPath, ["1.2", "1.3"] as const) ?? "1.3";
  if (minVersion > maxVersion) throw new ConfigError(`${minPath} ${minVersion} is greater than ${maxPath} ${maxVersion}`);
  return { minVersion, maxVersion };
}

const headerName = /^[a-zA-Z0-9!#$%&'*+.^_`|~-]+$/;
/** Contour refuses these in a global policy: Envoy manages them. */
const managedHeaders = new Set(["host", ":authority", ":method", ":path", ":scheme", ":status"]);

/** A global header policy: valid names, none Envoy manages. */
export function headersPolicy(reader: Reader, path: string): GlobalHeadersPolicy {
  const set = reader.stringMap(`${path}.set`) ?? {};
  const remove = reader.strings(`${path}.remove`) ?? [];
  for (const name of [...Object.keys(set), ...remove]) {
    if (!headerName.test(name)) throw new ConfigError(`${path}: invalid header name ${JSON.stringify(name)}`);
    if (managedHeaders.has(name.toLowerCase())) throw new ConfigError(`${path}: rewriting ${JSON.stringify(name)} is not supported`);
  }
  return { set, remove };
}

/** A namespace/name reference; both or neither. */
export function secretName(reader: Reader, path: string): SecretName | undefined {
  const name = reader.string(`${path}.name`);
  const namespace = reader.string(`${path}.namespace`);
  if (name === undefined && namespace === undefined) return undefined;
  if (name === undefined || namespace === undefined) throw new ConfigError(`${path} needs both name and namespace`);
  return { namespace, name };
}

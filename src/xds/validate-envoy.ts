// Envoy's own load-time checks that its protos' validate.rules do not express, found by serving
// random configurations to a real Envoy (test/e2e/envoy-fuzz.e2e.test.ts): each check names the
// message it applies to and says what Envoy answers. They run in the validator's walk, after the
// message's field rules, so a resource Envoy would NACK is left out and reported instead.
import type { ValidationError } from "./validate-scalar.ts";

type MessageRule = (value: Record<string, unknown>, errors: ValidationError[]) => void;

/** Envoy's HeaderUtility::isModifiableHeader / isRemovableHeader: no pseudo-header, no Host. */
function unmodifiable(name: unknown): boolean {
  return typeof name === "string" && (name.startsWith(":") || name.toLowerCase() === "host");
}

/**
 * Envoy's HeaderParser (route config, virtual host, route, weighted cluster): adding or removing a
 * `:`-prefixed header or Host is refused (":-prefixed or host headers may not be modified/removed").
 */
const headerMutations: MessageRule = (value, errors) => {
  // Run on every route and virtual host: most have none of these fields.
  for (const field of addedHeaderFields) {
    const options = value[field];
    if (!Array.isArray(options)) continue;
    for (let i = 0; i < options.length; i++) {
      const option = options[i] as { header?: { key?: unknown } } | undefined;
      if (unmodifiable(option?.header?.key)) errors.push({ path: `${field}[${i}].header.key`, rule: "envoy.header_parser", message: ":-prefixed or host headers may not be modified" });
    }
  }
  for (const field of removedHeaderFields) {
    const names = value[field];
    if (!Array.isArray(names)) continue;
    for (let i = 0; i < names.length; i++) {
      if (unmodifiable(names[i])) errors.push({ path: `${field}[${i}]`, rule: "envoy.header_parser", message: ":-prefixed or host headers may not be removed" });
    }
  }
};

const addedHeaderFields = ["request_headers_to_add", "response_headers_to_add"] as const;
const removedHeaderFields = ["request_headers_to_remove", "response_headers_to_remove"] as const;

const utf8 = new TextEncoder();

/**
 * Envoy's route config: a direct response body larger than max_direct_response_body_size_bytes
 * (4096 by default) is refused ("response body size is N bytes; maximum is M").
 */
const directResponseBodies: MessageRule = (value, errors) => {
  const limit = typeof value.max_direct_response_body_size_bytes === "number" ? value.max_direct_response_body_size_bytes : 4096;
  const vhosts = Array.isArray(value.virtual_hosts) ? (value.virtual_hosts as Array<{ routes?: unknown }>) : [];
  vhosts.forEach((vhost, v) => {
    (Array.isArray(vhost?.routes) ? (vhost.routes as Array<{ direct_response?: { body?: { inline_string?: unknown; inline_bytes?: unknown } } }>) : []).forEach((route, r) => {
      const body = route?.direct_response?.body;
      const size = typeof body?.inline_string === "string" ? utf8.encode(body.inline_string).length : typeof body?.inline_bytes === "string" ? Math.floor((body.inline_bytes.length * 3) / 4) - (body.inline_bytes.match(/=*$/)?.[0].length ?? 0) : 0;
      if (size > limit) errors.push({ path: `virtual_hosts[${v}].routes[${r}].direct_response.body`, rule: "envoy.direct_response_body", message: `response body size is ${size} bytes; maximum is ${limit}` });
    });
  });
};

interface ValidationContext {
  trusted_ca?: unknown;
  crl?: { inline_string?: unknown; inline_bytes?: unknown; filename?: unknown };
}

/** Where Envoy says a CRL came from: "<inline>" or its file. */
const crlSource = (crl: NonNullable<ValidationContext["crl"]>) => (typeof crl.filename === "string" ? crl.filename : "<inline>");

/**
 * Envoy's TLS context: a CRL needs a trusted CA in the same validation context ("Failed to load CRL
 * from <inline> without trusted CA"). A combined validation context gets its CA from the SDS secret
 * it must name (a proto rule already), so only a context of its own is checked.
 */
const crlNeedsCa: MessageRule = (value, errors) => {
  const own = value.validation_context as ValidationContext | undefined;
  if (own?.crl && !own.trusted_ca) errors.push({ path: "validation_context.crl", rule: "envoy.crl_without_ca", message: `Failed to load CRL from ${crlSource(own.crl)} without trusted CA` });
};

/** By message full name (without the leading dot). */
export const envoyRules: Record<string, MessageRule> = {
  "envoy.config.route.v3.RouteConfiguration": (value, errors) => (headerMutations(value, errors), directResponseBodies(value, errors)),
  "envoy.config.route.v3.VirtualHost": headerMutations,
  "envoy.config.route.v3.Route": headerMutations,
  "envoy.config.route.v3.WeightedCluster.ClusterWeight": headerMutations,
  "envoy.extensions.transport_sockets.tls.v3.CommonTlsContext": crlNeedsCa,
};

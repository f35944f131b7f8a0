// Writes the CustomResourceDefinitions for HTTPProxy and TLSCertificateDelegation
// (projectcontour.io/v1), ContourConfiguration and ExtensionService (v1alpha1) next to this file,
// so the agent can run in a cluster without Contour installed. Their schemas are Contour 1.33's
// (same fields, types, enums, defaults, patterns and bounds; test/contour-crd-shape.test.ts checks
// them field by field), in our own words. Also writes src/dag/crd-schemas.json (the HTTPProxy and
// TLSCertificateDelegation schemas without descriptions), which the agent embeds to check
// manifests that never went through an API server (src/dag/crd-schema.ts), and src/dag/crd-types.ts,
// the TypeScript types of the specs (scripts/crd-types.ts).
// Run: ./node_modules/.bin/bun run examples/crds/generate.ts
import { writeFileSync } from "node:fs";
import { crdTypesPath, renderCrdTypes, type SchemaNode } from "../../scripts/crd-types.ts";
import { stringify } from "yaml";
import { retryOnConditions } from "../../src/dag/annotations.ts";
import { contourConfigurationCrd, extensionServiceCrd } from "./config-crds.ts";
import { type Schema, str, bool, int, obj, arr, freeForm, duration, durationNoInfinity, hostname, headerToken, headerMatch, loadBalancerPolicy, upstreamValidation, globalRateLimit, authPolicy, authorizationServer, subCondition, detailedCondition, crd } from "./parts.ts";

const headerValue = obj("A header name/value pair.", { name: str("Header name.", { minLength: 1 }), value: str("Header value.", { minLength: 1 }) }, ["name", "value"]);
const headersPolicy = obj("How headers are managed during forwarding.", {
  set: arr("Headers set (replaced) on the request or response.", headerValue),
  remove: arr("Header names removed.", { type: "string" }),
});
// Control characters listed one by one, as Contour's CRD spells them (the same set as \x00-\x1f).
const controls = Array.from({ length: 32 }, (_, i) => `\\x${i.toString(16).padStart(2, "0")}`).join("");
const cookieRewritePolicy = obj(
  "Rewrites attributes of a Set-Cookie header.",
  {
    name: str("Name of the cookie to rewrite.", { minLength: 1, maxLength: 4096, pattern: `^[^()<>@,;:\\\\"\\/[\\]?={} \\t\\x7f${controls}]+$` }),
    pathRewrite: obj("Rewrites the Path attribute.", { value: str("Path value.", { minLength: 1, maxLength: 4096, pattern: `^[^;\\x7f${controls}]+$` }) }, ["value"]),
    domainRewrite: obj("Rewrites the Domain attribute.", { value: str("Domain value.", { minLength: 1, maxLength: 4096, pattern: hostname }) }, ["value"]),
    secure: bool("Sets or clears the Secure attribute."),
    sameSite: str("Sets the SameSite attribute.", { enum: ["Strict", "Lax", "None"] }),
  },
  ["name"],
);
const queryMatch = obj(
  "A query parameter condition; exactly one matcher.",
  {
    name: str("Query parameter name."),
    exact: str("The value equals this string."),
    prefix: str("The value starts with this string."),
    suffix: str("The value ends with this string."),
    regex: str("The value matches this RE2 regular expression."),
    contains: str("The value contains this string."),
    ignoreCase: bool("Compare case-insensitively (exact, prefix, suffix, contains)."),
    present: bool("The parameter is present."),
  },
  ["name"],
);
const matchCondition = obj("A routing condition, applied on top of those of the including proxies.", {
  prefix: str("Path prefix."),
  exact: str("Exact path (routes only)."),
  regex: str("Path RE2 regular expression (routes only)."),
  header: headerMatch,
  queryParameter: queryMatch,
});
const healthCounts = {
  intervalSeconds: int("Seconds between health checks.", { format: "int64" }),
  timeoutSeconds: int("Seconds to wait for a health check response.", { format: "int64" }),
  unhealthyThresholdCount: int("Failed checks before a host is unhealthy.", { format: "int64", minimum: 0 }),
  healthyThresholdCount: int("Passed checks before a host is healthy.", { format: "int64", minimum: 0 }),
};
const service = obj(
  "A Kubernetes Service to send traffic to.",
  {
    name: str("Service name (in the proxy's namespace)."),
    // Contour spells "at most 65535" as "below 65536".
    port: int("Service port number.", { minimum: 1, maximum: 65536, exclusiveMaximum: true }),
    healthPort: int("Port for health checks, if not the service port.", { minimum: 1, maximum: 65535 }),
    protocol: str("Upstream protocol, overriding the Service annotations.", { enum: ["h2", "h2c", "tls"] }),
    weight: int("Relative share of the route's traffic.", { format: "int64", minimum: 0 }),
    validation: upstreamValidation,
    mirror: bool("Receive a read-only mirror of the traffic."),
    requestHeadersPolicy: headersPolicy,
    responseHeadersPolicy: headersPolicy,
    cookieRewritePolicies: arr("Set-Cookie rewrites for this service.", cookieRewritePolicy),
    slowStartPolicy: obj(
      "Slow start for new endpoints.",
      {
        window: str("Duration of the slow start window.", { pattern: durationNoInfinity }),
        aggression: str("Traffic increase rate (decimal).", { default: "1.0", pattern: "^([0-9]+([.][0-9]+)?|[.][0-9]+)$" }),
        minWeightPercent: int("Minimum weight percentage.", { format: "int32", default: 10, minimum: 0, maximum: 100 }),
      },
      ["window"],
    ),
  },
  ["name", "port"],
);
const ipFilter = arr(
  "IP filter rules.",
  obj("One rule.", { source: str("Match the direct peer or the remote (X-Forwarded-For) address.", { enum: ["Peer", "Remote"] }), cidr: str("Address or CIDR.") }, ["cidr", "source"]),
);
const localRateLimit = obj(
  "Local (per Envoy) rate limit.",
  {
    requests: int("Requests per unit of time.", { format: "int32", minimum: 1 }),
    unit: str("Unit of time.", { enum: ["second", "minute", "hour"] }),
    burst: int("Extra requests allowed in a burst.", { format: "int32" }),
    responseStatusCode: int("Status of rate-limited responses (429 by default).", { format: "int32", minimum: 400, maximum: 599 }),
    responseHeadersToAdd: arr("Headers added to rate-limited responses.", headerValue),
  },
  ["requests", "unit"],
);
const rateLimitPolicy = obj("Rate limiting.", { local: localRateLimit, global: globalRateLimit });
const route = obj("A route of the virtual host.", {
  conditions: arr("Routing conditions.", matchCondition),
  services: arr("Services to proxy to.", service),
  enableWebsockets: bool("Allow WebSocket upgrades."),
  permitInsecure: bool("Serve plaintext HTTP even though the virtual host has TLS."),
  authPolicy,
  timeoutPolicy: obj("Timeouts.", {
    response: str("Timeout for the whole response.", { pattern: duration }),
    idle: str("Idle timeout of a stream.", { pattern: duration }),
    idleConnection: str("Idle timeout of an upstream connection.", { pattern: duration }),
  }),
  retryPolicy: obj("Retries.", {
    count: int("Maximum retries (default 1; -1 disables).", { format: "int64", default: 1, minimum: -1 }),
    perTryTimeout: str("Timeout of each attempt.", { pattern: duration }),
    retryOn: arr("Retry conditions.", {
      type: "string",
      enum: [...retryOnConditions],
    }),
    retriableStatusCodes: arr("Status codes retried with retriable-status-codes.", { type: "integer", format: "int32" }),
  }),
  healthCheckPolicy: obj(
    "HTTP health checks of the route's services.",
    {
      path: str("Path requested."),
      host: str("Host header of health check requests."),
      ...healthCounts,
      expectedStatuses: arr(
        "Status ranges counted as healthy (default 200-299).",
        obj("A half-open range [start, end).", { start: int("First status.", { format: "int64", minimum: 100, maximum: 599 }), end: int("One past the last status.", { format: "int64", minimum: 101, maximum: 600 }) }, ["end", "start"]),
      ),
    },
    ["path"],
  ),
  loadBalancerPolicy,
  pathRewritePolicy: obj("Path rewriting after routing.", {
    replacePrefix: arr(
      "Prefix replacements.",
      obj("One replacement.", { prefix: str("The routed prefix replaced (all when absent).", { minLength: 1 }), replacement: str("The replacement.", { minLength: 1 }) }, ["replacement"]),
    ),
  }),
  requestHeadersPolicy: headersPolicy,
  responseHeadersPolicy: headersPolicy,
  cookieRewritePolicies: arr("Set-Cookie rewrites.", cookieRewritePolicy),
  rateLimitPolicy,
  requestRedirectPolicy: obj("Answer with a redirect.", {
    scheme: str("Scheme of the redirect.", { enum: ["http", "https"] }),
    hostname: str("Host of the redirect.", { minLength: 1, maxLength: 253, pattern: hostname }),
    port: int("Port of the redirect.", { format: "int32", minimum: 1, maximum: 65535 }),
    statusCode: int("Redirect status.", { format: "int32", enum: [301, 302, 303, 307, 308], default: 302 }),
    path: str("Replace the whole path.", { pattern: "^\\/.*$" }),
    prefix: str("Replace the matched prefix.", { pattern: "^\\/.*$" }),
  }),
  directResponsePolicy: obj("Answer directly.", { statusCode: int("Response status.", { minimum: 200, maximum: 599 }), body: str("Response body.") }, ["statusCode"]),
  internalRedirectPolicy: obj("Follow upstream redirects inside Envoy.", {
    maxInternalRedirects: int("Maximum redirects followed.", { format: "int32" }),
    redirectResponseCodes: arr("Statuses treated as redirects (302 by default).", { type: "integer", format: "int32", enum: [301, 302, 303, 307, 308] }),
    allowCrossSchemeRedirect: str("Follow redirects to another scheme.", { enum: ["Always", "Never", "SafeOnly"], default: "Never" }),
    denyRepeatedRouteRedirect: bool("Refuse a redirect back to an already visited route."),
  }),
  jwtVerificationPolicy: obj("JWT verification of the route.", { require: str("Provider whose JWTs are required."), disabled: bool("Skip JWT verification.") }),
  ipAllowPolicy: ipFilter,
  ipDenyPolicy: ipFilter,
});
const tls = obj("TLS of the virtual host.", {
  secretName: str("Secret (`name` or `namespace/name`, delegated) with the certificate."),
  minimumProtocolVersion: str("Minimum TLS version (1.2 by default)."),
  maximumProtocolVersion: str("Maximum TLS version (1.3 by default)."),
  passthrough: bool("Pass the TLS connection through to the tcpproxy services."),
  clientValidation: obj("Client certificate validation.", {
    caSecret: str("Secret with ca.crt for client certificates.", { minLength: 1 }),
    skipClientCertValidation: bool("Request a client certificate but do not verify it."),
    optionalClientCertificate: bool("Verify a client certificate when one is sent, allow none."),
    forwardClientCertificate: obj("Details forwarded in X-Forwarded-Client-Cert.", {
      subject: bool("Subject."),
      cert: bool("The certificate (PEM, URL-encoded)."),
      chain: bool("The chain."),
      dns: bool("DNS SANs."),
      uri: bool("URI SANs."),
    }),
    crlSecret: str("Secret with crl.pem.", { minLength: 1 }),
    crlOnlyVerifyLeafCert: bool("Check only the leaf certificate against the CRL."),
  }),
  enableFallbackCertificate: bool("Serve the fallback certificate to clients without SNI."),
});
const virtualhost = obj(
  "Makes the proxy a root: the host it serves.",
  {
    fqdn: str("Fully qualified domain name; a leading `*.` for one-label wildcards.", { pattern: "^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$" }),
    tls,
    authorization: authorizationServer,
    corsPolicy: obj(
      "CORS.",
      {
        allowCredentials: bool("Allow credentials."),
        allowPrivateNetwork: bool("Allow private network access."),
        allowOrigin: arr("Allowed origins: `*`, exact origins or RE2 regexes.", { type: "string" }, { minItems: 1 }),
        allowMethods: arr("Allowed methods.", { type: "string", pattern: headerToken }, { minItems: 1 }),
        allowHeaders: arr("Allowed request headers.", { type: "string", pattern: headerToken }, { minItems: 1 }),
        exposeHeaders: arr("Exposed response headers.", { type: "string", pattern: headerToken }, { minItems: 1 }),
        maxAge: str("How long a preflight result may be cached.", { pattern: "^(((\\d*(\\.\\d*)?h)|(\\d*(\\.\\d*)?m)|(\\d*(\\.\\d*)?s)|(\\d*(\\.\\d*)?ms)|(\\d*(\\.\\d*)?us)|(\\d*(\\.\\d*)?µs)|(\\d*(\\.\\d*)?ns))+|0)$" }),
      },
      ["allowMethods", "allowOrigin"],
    ),
    rateLimitPolicy,
    jwtProviders: arr(
      "JWT providers.",
      obj(
        "A JWT provider.",
        {
          name: str("Provider name.", { minLength: 1 }),
          issuer: str("Expected issuer."),
          audiences: arr("Expected audiences.", { type: "string" }),
          remoteJWKS: obj(
            "Where the signing keys are fetched.",
            {
              uri: str("JWKS URI.", { minLength: 1 }),
              timeout: str("Fetch timeout.", { pattern: durationNoInfinity }),
              cacheDuration: str("How long keys are cached.", { pattern: durationNoInfinity }),
              dnsLookupFamily: str("DNS family for the JWKS host.", { enum: ["auto", "v4", "v6"] }),
              validation: upstreamValidation,
            },
            ["uri"],
          ),
          forwardJWT: bool("Forward the JWT to the backend."),
          default: bool("Required on every route unless a route says otherwise."),
        },
        ["name", "remoteJWKS"],
      ),
    ),
    ipAllowPolicy: ipFilter,
    ipDenyPolicy: ipFilter,
  },
  ["fqdn"],
);
const tcpInclude = obj("The proxy whose tcpproxy is used.", { name: str("Proxy name."), namespace: str("Proxy namespace (the same by default).") }, ["name"]);
const tcpproxy = obj("Proxies TCP connections of a TLS virtual host.", {
  loadBalancerPolicy,
  services: arr("Services to proxy to.", service),
  include: tcpInclude,
  includes: tcpInclude,
  healthCheckPolicy: obj("TCP health checks.", {
    intervalSeconds: int("Seconds between checks.", { format: "int64" }),
    timeoutSeconds: int("Seconds to wait.", { format: "int64" }),
    unhealthyThresholdCount: int("Failed checks before unhealthy.", { format: "int32" }),
    healthyThresholdCount: int("Passed checks before healthy.", { format: "int32" }),
  }),
});
const httpProxy = crd({
  kind: "HTTPProxy",
  plural: "httpproxies",
  singular: "httpproxy",
  shortNames: ["proxy", "proxies"],
  description: "HTTPProxy routes HTTP and TLS traffic for a host, with delegation across namespaces.",
  spec: obj("The routing of the proxy.", {
    virtualhost,
    routes: arr("Routes.", route),
    tcpproxy,
    includes: arr(
      "Other proxies whose routes are served under these conditions.",
      obj("An included proxy.", { name: str("Proxy name."), namespace: str("Proxy namespace (the same by default)."), conditions: arr("Conditions prepended to the included routes.", matchCondition) }, ["name"]),
    ),
    ingressClassName: str("The ingress class that should serve this proxy."),
  }),
  status: obj("Set by the agent.", {
    currentStatus: str("valid, invalid or orphaned."),
    description: str("Summary of the status."),
    conditions: arr("Conditions (one of type Valid).", detailedCondition),
    loadBalancer: freeForm("Addresses of the load balancer serving the proxy."),
  }),
  columns: [
    { name: "FQDN", type: "string", jsonPath: ".spec.virtualhost.fqdn", description: "Fully qualified domain name" },
    { name: "TLS Secret", type: "string", jsonPath: ".spec.virtualhost.tls.secretName", description: "Secret with TLS credentials" },
    { name: "Status", type: "string", jsonPath: ".status.currentStatus", description: "The current status of the HTTPProxy" },
    { name: "Status Description", type: "string", jsonPath: ".status.description", description: "Description of the current status" },
  ],
});

const delegationCrd = crd({
  kind: "TLSCertificateDelegation",
  plural: "tlscertificatedelegations",
  singular: "tlscertificatedelegation",
  shortNames: ["tlscerts"],
  description: "TLSCertificateDelegation lets proxies in other namespaces use Secrets of this namespace.",
  spec: obj(
    "The delegated Secrets.",
    {
      delegations: arr(
        "One entry per Secret.",
        obj("A Secret and the namespaces it is delegated to.", { secretName: str("Secret name."), targetNamespaces: arr("Namespaces allowed to use it; `*` for all.", { type: "string" }) }, ["secretName", "targetNamespaces"]),
      ),
    },
    ["delegations"],
  ),
  status: obj("Set by the agent.", { conditions: arr("Conditions.", detailedCondition) }),
});

const header = (what: string, version = "v1") => `# ${what} (projectcontour.io/${version}), compatible with Contour's.\n# Generated by examples/crds/generate.ts; edit that file and run it again.\n`;
const here = new URL(".", import.meta.url).pathname;
writeFileSync(`${here}httpproxy.yaml`, header("CustomResourceDefinition for HTTPProxy") + stringify(httpProxy, { lineWidth: 0 }));
writeFileSync(`${here}tlscertificatedelegation.yaml`, header("CustomResourceDefinition for TLSCertificateDelegation") + stringify(delegationCrd, { lineWidth: 0 }));
// Not served yet, and not embedded in the agent: in a cluster they let Contour's objects be applied as they are.
writeFileSync(`${here}contourconfiguration.yaml`, header("CustomResourceDefinition for ContourConfiguration", "v1alpha1") + stringify(contourConfigurationCrd, { lineWidth: 0 }));
writeFileSync(`${here}extensionservice.yaml`, header("CustomResourceDefinition for ExtensionService", "v1alpha1") + stringify(extensionServiceCrd, { lineWidth: 0 }));

/** The OpenAPI schema of a CRD without its descriptions: what the agent checks manifests against. */
function checkedSchema(definition: Schema): Schema {
  const versions = (definition.spec as { versions: Array<{ schema: { openAPIV3Schema: Schema } }> }).versions;
  const strip = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(strip);
    if (typeof value !== "object" || value === null) return value;
    return Object.fromEntries(Object.entries(value).filter(([key]) => key !== "description").map(([key, v]) => [key, strip(v)]));
  };
  return strip(versions[0]!.schema.openAPIV3Schema) as Schema;
}
// Embedded in the binary (src/ never reads examples/ at run time): the same schemas, for manifest mode.
const schemas = { HTTPProxy: checkedSchema(httpProxy), TLSCertificateDelegation: checkedSchema(delegationCrd) };
writeFileSync(new URL("../../src/dag/crd-schemas.json", import.meta.url).pathname, `${JSON.stringify(schemas, null, 1)}\n`);
writeFileSync(crdTypesPath, renderCrdTypes(schemas as unknown as Record<string, SchemaNode>));

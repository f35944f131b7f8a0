// The CustomResourceDefinitions of Contour 1.33's ContourConfiguration and ExtensionService
// (projectcontour.io/v1alpha1), with the same fields and validations as Contour's, so objects
// written for Contour are accepted as they are. isobar does not serve these objects yet.
import {
  arr,
  authorizationServer,
  bool,
  crd,
  detailedCondition,
  duration,
  globalRateLimit,
  int,
  loadBalancerPolicy,
  obj,
  str,
  upstreamValidation,
  type Schema,
} from "./parts.ts";

const namespacedName = (description: string): Schema => obj(description, { name: str("Name."), namespace: str("Namespace.") }, ["name", "namespace"]);
const address = (what: string): Schema => obj(`Where ${what} listens.`, { address: str("Address.", { minLength: 1 }), port: int("Port.") });
const tlsFiles = obj("TLS files.", { caFile: str("CA bundle."), certFile: str("Certificate."), keyFile: str("Private key.") });
const metrics = obj("The metrics endpoint.", { address: str("Address.", { minLength: 1, maxLength: 253 }), port: int("Port."), tls: tlsFiles });
const tlsParameters = (what: string): Schema =>
  obj(`TLS of ${what}.`, {
    minimumProtocolVersion: str("Lowest TLS version."),
    maximumProtocolVersion: str("Highest TLS version."),
    cipherSuites: arr("Cipher suites.", { type: "string" }),
  });
const circuitBreakers = obj("Circuit breaker thresholds.", {
  maxConnections: int("Connections.", { format: "int32" }),
  maxPendingRequests: int("Pending requests.", { format: "int32" }),
  maxRequests: int("Parallel requests.", { format: "int32" }),
  maxRetries: int("Parallel retries.", { format: "int32" }),
  perHostMaxConnections: int("Connections per host.", { format: "int32" }),
});
const positiveInt32 = (description: string): Schema => int(description, { format: "int32", minimum: 1 });
const headersPolicy = obj("Headers set and removed.", {
  set: { type: "object", description: "Headers set, by name.", additionalProperties: { type: "string" } },
  remove: arr("Header names removed.", { type: "string" }),
});
const envoyListener = (what: string): Schema => obj(`Envoy's ${what} listener.`, { address: str("Address.", { minLength: 1 }), port: int("Port."), accessLog: str("Access log path.") });

const envoy = obj("Settings of the Envoys served.", {
  listener: obj("Listener settings.", {
    useProxyProtocol: bool("Expect the PROXY protocol."),
    disableAllowChunkedLength: bool("Do not allow both Content-Length and chunked encoding."),
    disableMergeSlashes: bool("Do not merge adjacent slashes in paths."),
    serverHeaderTransformation: str("What happens to the Server response header."),
    connectionBalancer: str("Connection balancing between worker threads."),
    maxRequestsPerConnection: positiveInt32("Requests per downstream connection."),
    "per-connection-buffer-limit-bytes": positiveInt32("Buffer limit per downstream connection."),
    tls: tlsParameters("the listeners"),
    socketOptions: obj("Socket options.", {
      tos: int("IPv4 type of service.", { format: "int32", minimum: 0, maximum: 255 }),
      trafficClass: int("IPv6 traffic class.", { format: "int32", minimum: 0, maximum: 255 }),
    }),
    maxRequestsPerIOCycle: positiveInt32("Requests handled per I/O cycle."),
    httpMaxConcurrentStreams: positiveInt32("HTTP/2 concurrent streams per connection."),
    maxConnectionsPerListener: positiveInt32("Connections per listener."),
    compression: obj("Response compression.", { algorithm: str("Algorithm.", { enum: ["gzip", "brotli", "zstd", "disabled"] }) }),
  }),
  service: namespacedName("The Service in front of the Envoys."),
  http: envoyListener("HTTP"),
  https: envoyListener("HTTPS"),
  health: address("Envoy's health endpoint"),
  metrics,
  clientCertificate: namespacedName("The client certificate Envoy presents to TLS upstreams."),
  logging: obj("Access logs.", {
    accessLogFormat: str("Format (envoy or json)."),
    accessLogFormatString: str("Envoy format string."),
    accessLogJSONFields: arr("JSON fields.", { type: "string" }),
    accessLogLevel: str("Which requests are logged."),
  }),
  defaultHTTPVersions: arr("HTTP versions offered.", { type: "string" }),
  timeouts: obj("Timeouts.", {
    requestTimeout: str("Whole request."),
    connectionIdleTimeout: str("Idle connection."),
    streamIdleTimeout: str("Idle stream."),
    maxConnectionDuration: str("Connection lifetime."),
    delayedCloseTimeout: str("Delayed close."),
    connectionShutdownGracePeriod: str("Graceful shutdown."),
    connectTimeout: str("Upstream connect."),
  }),
  cluster: obj("Upstream cluster settings.", {
    dnsLookupFamily: str("DNS family for ExternalName Services."),
    circuitBreakers,
    maxRequestsPerConnection: positiveInt32("Requests per upstream connection."),
    "per-connection-buffer-limit-bytes": positiveInt32("Buffer limit per upstream connection."),
    upstreamTLS: tlsParameters("upstream connections"),
  }),
  network: obj("Network settings.", {
    numTrustedHops: int("Trusted X-Forwarded-For hops.", { format: "int32" }),
    adminPort: int("Envoy's admin port."),
    stripTrailingHostDot: bool("Strip a trailing dot from the Host."),
  }),
  omEnforcedHealth: address("the overload-manager-enforced health endpoint"),
});

const contourConfigurationSpec = obj("The configuration of the control plane.", {
  xdsServer: obj("The xDS server.", {
    address: str("Address.", { minLength: 1 }),
    port: int("Port."),
    tls: obj("TLS files.", { caFile: str("CA bundle."), certFile: str("Certificate."), keyFile: str("Private key."), insecure: bool("Serve without TLS.") }),
  }),
  ingress: obj("Ingress settings.", { classNames: arr("Ingress classes served.", { type: "string" }), statusAddress: str("Address written to Ingress status.") }),
  debug: obj("The debug endpoint.", { address: str("Address."), port: int("Port.") }),
  health: address("the health endpoint"),
  envoy,
  gateway: obj("Gateway API settings.", { gatewayRef: namespacedName("The Gateway served.") }, ["gatewayRef"]),
  httpproxy: obj("HTTPProxy settings.", {
    disablePermitInsecure: bool("Ignore permitInsecure."),
    rootNamespaces: arr("Namespaces where root proxies may be.", { type: "string" }),
    fallbackCertificate: namespacedName("The fallback certificate."),
  }),
  enableExternalNameService: bool("Serve ExternalName Services."),
  globalExtAuth: authorizationServer,
  rateLimitService: obj(
    "The global rate limit service.",
    {
      extensionService: namespacedName("Its ExtensionService."),
      domain: str("Rate limit domain."),
      failOpen: bool("Let requests through when the service does not answer."),
      enableXRateLimitHeaders: bool("Send X-RateLimit headers."),
      enableResourceExhaustedCode: bool("Answer gRPC RESOURCE_EXHAUSTED."),
      defaultGlobalRateLimitPolicy: globalRateLimit,
    },
    ["extensionService"],
  ),
  policy: obj("Headers policies applied to every route.", { requestHeaders: headersPolicy, responseHeaders: headersPolicy, applyToIngress: bool("Apply them to Ingress routes too.") }),
  metrics,
  tracing: obj(
    "Tracing.",
    {
      includePodDetail: bool("Tag spans with the pod."),
      serviceName: str("Service name in traces."),
      overallSampling: str("Sampling percentage."),
      maxPathTagLength: int("Longest path tag.", { format: "int32" }),
      customTags: arr("Custom tags.", obj("A tag.", { tagName: str("Name."), literal: str("A literal value."), requestHeaderName: str("A request header's value.") }, ["tagName"])),
      extensionService: namespacedName("The tracing collector's ExtensionService."),
    },
    ["extensionService"],
  ),
  featureFlags: arr("Feature flags.", { type: "string" }),
});

const extensionServiceSpec = obj(
  "An external service Envoy talks to (authorization, rate limits, tracing).",
  {
    services: arr(
      "Its backends.",
      obj("A Service.", { name: str("Service name."), port: int("Service port.", { minimum: 1, maximum: 65536, exclusiveMaximum: true }), weight: int("Relative share.", { format: "int32" }) }, ["name", "port"]),
      { minItems: 1 },
    ),
    validation: upstreamValidation,
    protocol: str("Protocol to the backends.", { enum: ["h2", "h2c"] }),
    loadBalancerPolicy,
    timeoutPolicy: obj("Timeouts.", {
      response: str("Whole response.", { pattern: duration }),
      idle: str("Idle stream.", { pattern: duration }),
      idleConnection: str("Idle connection.", { pattern: duration }),
    }),
    protocolVersion: str("xDS protocol version.", { enum: ["v3"] }),
    circuitBreakerPolicy: circuitBreakers,
  },
  ["services"],
);

const conditionsStatus = obj("Set by the controller.", { conditions: arr("Conditions.", detailedCondition) });

export const contourConfigurationCrd = crd({
  kind: "ContourConfiguration",
  version: "v1alpha1",
  plural: "contourconfigurations",
  singular: "contourconfiguration",
  shortNames: ["contourconfig"],
  description: "ContourConfiguration holds the settings of a Contour-compatible control plane.",
  spec: contourConfigurationSpec,
  status: conditionsStatus,
});

export const extensionServiceCrd = crd({
  kind: "ExtensionService",
  version: "v1alpha1",
  plural: "extensionservices",
  singular: "extensionservice",
  shortNames: ["extensionservice", "extensionservices"],
  description: "ExtensionService describes a service Envoy calls out to.",
  spec: extensionServiceSpec,
  status: conditionsStatus,
});

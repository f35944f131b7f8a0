// TLS contexts for Envoy: the downstream context of an `ingress_https` filter chain (certificate by
// SDS, protocol versions, ALPN, client certificate validation) and the upstream context of a cluster
// that speaks TLS to its endpoints. Certificates and CA bundles always travel by SDS, by the DAG
// Secret's name (a CRL joined with its CA in one SDS validation context, dag/listeners.ts).
import type { DownstreamValidation, Secret, TlsVersion, UpstreamValidation } from "../dag/types.ts";
import { adsConfigSource, any, type JsonObject } from "./common.ts";

const DOWNSTREAM = "envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext";
const UPSTREAM = "envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext";

/** Contour's default TLS 1.2 cipher suites (TLS 1.3 suites are not configurable in Envoy). */
export const defaultCipherSuites = [
  "[ECDHE-ECDSA-AES128-GCM-SHA256|ECDHE-ECDSA-CHACHA20-POLY1305]",
  "[ECDHE-RSA-AES128-GCM-SHA256|ECDHE-RSA-CHACHA20-POLY1305]",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
];

const tlsProtocols: Record<TlsVersion, string> = { "1.2": "TLSv1_2", "1.3": "TLSv1_3" };

/** A reference to a secret served over SDS, fetched from `configSource` (the ADS stream by default). */
export function sdsSecretConfig(name: string, configSource: JsonObject = adsConfigSource()): JsonObject {
  return { name, sds_config: configSource };
}

/** A transport socket of the TLS kind around a TLS context (an Any). */
export function tlsTransportSocket(context: JsonObject): JsonObject {
  return { name: "envoy.transport_sockets.tls", typed_config: context };
}

export interface DownstreamTlsOptions {
  secret: Secret;
  minVersion: TlsVersion;
  maxVersion: TlsVersion;
  /** TLS 1.2 cipher suites; empty: Contour's defaults. */
  cipherSuites?: string[];
  /** ALPN offered to clients; none for a TCP proxy behind TLS. */
  alpn: string[];
  validation?: DownstreamValidation;
  /** The secret fetched over SDS to validate client certificates (the chain's clientValidationSecret). */
  validationSecret?: Secret;
  /** Where Envoy fetches the secrets over SDS (config-source.ts); the ADS stream when absent. */
  configSource?: JsonObject;
}

/** The DownstreamTlsContext (as an Any) of a terminating filter chain. */
export function downstreamTlsContext(options: DownstreamTlsOptions): JsonObject {
  const tlsParams: JsonObject = {
    tls_minimum_protocol_version: tlsProtocols[options.minVersion],
    tls_maximum_protocol_version: tlsProtocols[options.maxVersion],
  };
  // Cipher suites only apply to TLS 1.2; Envoy rejects a list for a 1.3-only context.
  if (options.minVersion === "1.2") tlsParams.cipher_suites = options.cipherSuites?.length ? options.cipherSuites : defaultCipherSuites;
  const common: JsonObject = {
    tls_params: tlsParams,
    tls_certificate_sds_secret_configs: [sdsSecretConfig(options.secret.name, options.configSource)],
  };
  const context: JsonObject = { common_tls_context: common };
  const validation = options.validation;
  if (validation && (validation.caSecret || validation.skipClientCertValidation)) {
    Object.assign(common, clientValidation(validation, options.validationSecret, options.configSource));
    context.require_client_certificate = !validation.optionalClientCertificate;
  }
  if (options.alpn.length > 0) common.alpn_protocols = options.alpn;
  return any(DOWNSTREAM, context);
}

/** The validation part of a CommonTlsContext for client certificates. */
function clientValidation(validation: DownstreamValidation, sds: Secret | undefined, configSource: JsonObject | undefined): JsonObject {
  const inline: JsonObject = {};
  if (validation.skipClientCertValidation) inline.trust_chain_verification = "ACCEPT_UNTRUSTED";
  if (validation.crlSecret) {
    if (!sds) inline.crl = { inline_string: validation.crlSecret.certificateChain };
    if (validation.crlOnlyVerifyLeafCert) inline.only_verify_leaf_cert_crl = true;
  }
  if (!sds) return { validation_context: inline };
  return {
    combined_validation_context: {
      default_validation_context: inline,
      validation_context_sds_secret_config: sdsSecretConfig(sds.name, configSource),
    },
  };
}

export interface UpstreamTlsOptions {
  sni?: string;
  /** Versions and TLS 1.2 ciphers from the configuration; absent: Envoy's defaults. */
  params?: { minVersion: TlsVersion; maxVersion: TlsVersion; cipherSuites: string[] };
  alpn: string[];
  validation?: UpstreamValidation;
  clientCertificate?: Secret;
  /** Where Envoy fetches the secrets over SDS (config-source.ts); the ADS stream when absent. */
  configSource?: JsonObject;
}

/** The UpstreamTlsContext (as an Any) of a cluster whose endpoints speak TLS. */
export function upstreamTlsContext(options: UpstreamTlsOptions): JsonObject {
  const common: JsonObject = {};
  if (options.params) {
    const { minVersion, maxVersion, cipherSuites } = options.params;
    common.tls_params = { tls_minimum_protocol_version: tlsProtocols[minVersion], tls_maximum_protocol_version: tlsProtocols[maxVersion] };
    if (minVersion === "1.2" && cipherSuites.length > 0) (common.tls_params as JsonObject).cipher_suites = cipherSuites;
  }
  if (options.clientCertificate) common.tls_certificate_sds_secret_configs = [sdsSecretConfig(options.clientCertificate.name, options.configSource)];
  if (options.validation) {
    const names = (type: string, list: readonly string[] | undefined) => [...new Set(list ?? [])].sort().map((name) => ({ san_type: type, matcher: { exact: name } }));
    const subjectNames = [...names("DNS", options.validation.subjectNames), ...names("URI", options.validation.uriSubjectNames)];
    common.combined_validation_context = {
      default_validation_context: subjectNames.length > 0 ? { match_typed_subject_alt_names: subjectNames } : {},
      validation_context_sds_secret_config: sdsSecretConfig(options.validation.caSecret.name, options.configSource),
    };
  }
  if (options.alpn.length > 0) common.alpn_protocols = options.alpn;
  const context: JsonObject = { common_tls_context: common };
  if (options.sni) context.sni = options.sni;
  return any(UPSTREAM, context);
}

// `spec.virtualhost.tls` of a root HTTPProxy: certificate (own namespace or delegated), protocol
// versions, passthrough, client validation (CA, CRL, forwarded client certificate details) and the
// fallback certificate, with Contour's TLSError reasons and messages.
import type { BuildContext, Lookup } from "./processor.ts";
import type { ObjectRef } from "./status.ts";
import type { DownstreamValidation, Secret, TlsVersion } from "./types.ts";
import type { ClientValidationSpec, TlsSpec } from "./crd-types.ts";
import { ErrorType, addError, isBlank, namespacedName, quote } from "./httpproxy-spec.ts";

export interface TlsSetup {
  passthrough: boolean;
  secret?: Secret;
  minTlsVersion: TlsVersion;
  maxTlsVersion: TlsVersion;
  downstreamValidation?: DownstreamValidation;
  fallbackSecret?: Secret;
}

function tlsVersion(value: string | undefined, fallback: TlsVersion): TlsVersion {
  return value === "1.2" || value === "1.3" ? value : fallback;
}

function causeOf<T>(lookup: Lookup<T>): string {
  return "error" in lookup ? (lookup.cause ?? lookup.error.message) : "";
}

/** Reads the TLS settings of a root, or undefined (with errors recorded on `ref`) when they are invalid. */
export function tlsSetup(ctx: BuildContext, ref: ObjectRef, tls: TlsSpec): TlsSetup | undefined {
  const fail = (reason: string, message: string): undefined => {
    addError(ctx, ref, ErrorType.tls, reason, message);
    return undefined;
  };
  const passthrough = tls.passthrough === true;
  const secretName = tls.secretName ?? "";
  const fallback = tls.enableFallbackCertificate === true;
  const clientValidation = tls.clientValidation;
  if (passthrough && fallback) return fail("TLSIncompatibleFeatures", "Spec.VirtualHost.TLS: both Passthrough and enableFallbackCertificate were specified");
  if (!isBlank(secretName) && passthrough) return fail("TLSConfigNotValid", "Spec.VirtualHost.TLS: both Passthrough and SecretName were specified");
  if (isBlank(secretName) && !passthrough) return fail("TLSConfigNotValid", "Spec.VirtualHost.TLS: neither Passthrough nor SecretName were specified");
  if (passthrough && clientValidation) return fail("TLSIncompatibleFeatures", "Spec.VirtualHost.TLS passthrough cannot be combined with tls.clientValidation");
  const minTlsVersion = tlsVersion(tls.minimumProtocolVersion, "1.2");
  const maxTlsVersion = tlsVersion(tls.maximumProtocolVersion, "1.3");
  if (passthrough) return { passthrough, minTlsVersion, maxTlsVersion };

  const name = namespacedName(secretName, ref.namespace);
  const secret = ctx.lookupTlsSecret(name.namespace, name.name, ref);
  if ("error" in secret) {
    if (secret.error.reason === "DelegationNotPermitted") {
      return fail("DelegationNotPermitted", `Spec.VirtualHost.TLS Secret ${quote(secretName)} certificate delegation not permitted`);
    }
    return fail("SecretNotValid", `Spec.VirtualHost.TLS Secret ${quote(secretName)} is invalid: ${causeOf(secret)}`);
  }
  if (maxTlsVersion < minTlsVersion) {
    return fail("TLSConfigNotValid", "Spec.Virtualhost.TLS the minimum protocol version is greater than the maximum protocol version");
  }
  const setup: TlsSetup = { passthrough, secret: secret.ok, minTlsVersion, maxTlsVersion };
  if (fallback && clientValidation) return fail("TLSIncompatibleFeatures", "Spec.Virtualhost.TLS fallback & client validation are incompatible");
  if (fallback) {
    const configured = ctx.options.fallbackCertificate;
    if (!configured) {
      return fail("FallbackNotPresent", "Spec.Virtualhost.TLS enabled fallback but the fallback Certificate Secret is not configured in Contour configuration file");
    }
    const text = `${configured.namespace}/${configured.name}`;
    const lookup = ctx.lookupTlsSecret(configured.namespace, configured.name, ref);
    if ("error" in lookup) {
      if (lookup.error.reason === "DelegationNotPermitted") {
        return fail("FallbackNotDelegated", `Spec.VirtualHost.TLS Secret ${quote(text)} is not configured for certificate delegation`);
      }
      return fail("FallbackNotValid", `Spec.Virtualhost.TLS Secret ${quote(text)} fallback certificate is invalid: ${causeOf(lookup)}`);
    }
    setup.fallbackSecret = lookup.ok;
  }
  if (clientValidation) {
    const validation = downstreamValidation(ctx, ref, clientValidation, fail);
    if (!validation) return undefined;
    setup.downstreamValidation = validation;
  }
  return setup;
}

function downstreamValidation(
  ctx: BuildContext,
  ref: ObjectRef,
  cv: ClientValidationSpec,
  fail: (reason: string, message: string) => undefined,
): DownstreamValidation | undefined {
  const out: DownstreamValidation = {
    skipClientCertValidation: cv.skipClientCertValidation === true,
    optionalClientCertificate: cv.optionalClientCertificate === true,
  };
  const forward = cv.forwardClientCertificate;
  if (forward) {
    out.forwardClientCertificate = {
      subject: forward.subject === true,
      cert: forward.cert === true,
      chain: forward.chain === true,
      dns: forward.dns === true,
      uri: forward.uri === true,
    };
  }
  const caText = cv.caSecret ?? "";
  if (caText !== "") {
    const name = namespacedName(caText, ref.namespace);
    const ca = ctx.lookupCaSecret(name.namespace, name.name, ref);
    if ("error" in ca) {
      if (ca.error.reason === "DelegationNotPermitted") return fail("DelegationNotPermitted", `Spec.VirtualHost.TLS CA Secret ${quote(caText)} is invalid: ${causeOf(ca)}`);
      return fail("ClientValidationInvalid", `Spec.VirtualHost.TLS client validation is invalid: ${causeOf(ca)}`);
    }
    out.caSecret = ca.ok;
  } else if (!out.skipClientCertValidation) {
    return fail("ClientValidationInvalid", "Spec.VirtualHost.TLS client validation is invalid: CA Secret must be specified");
  }
  const crlText = cv.crlSecret ?? "";
  // Envoy cannot load a CRL without the CA it revokes from ("Failed to load CRL … without trusted CA").
  if (crlText !== "" && !out.caSecret) return fail("ClientValidationInvalid", "Spec.VirtualHost.TLS client validation is invalid: a CRL Secret needs a CA Secret");
  if (crlText !== "") {
    const name = namespacedName(crlText, ref.namespace);
    const crl = ctx.lookupCrlSecret(name.namespace, name.name, ref);
    if ("error" in crl) {
      if (crl.error.reason === "DelegationNotPermitted") return fail("DelegationNotPermitted", `Spec.VirtualHost.TLS CRL Secret ${quote(crlText)} is invalid: ${causeOf(crl)}`);
      return fail("ClientValidationInvalid", `Spec.VirtualHost.TLS client validation is invalid: ${causeOf(crl)}`);
    }
    out.crlSecret = crl.ok;
    if (cv.crlOnlyVerifyLeafCert === true) out.crlOnlyVerifyLeafCert = true;
  }
  return out;
}

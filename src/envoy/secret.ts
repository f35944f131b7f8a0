// SDS Secret resources from the DAG's validated Kubernetes Secrets: a certificate and key, a CA
// bundle to validate peers with, or a certificate revocation list. The name is the DAG Secret's
// name, which carries a hash of the content, so rotated content arrives as a new resource.
import type { Secret } from "../dag/types.ts";
import type { JsonObject } from "./common.ts";

/** The Envoy Secret (envoy.extensions.transport_sockets.tls.v3.Secret) for one DAG Secret. */
export function secret(source: Secret): JsonObject {
  switch (source.kind) {
    case "tls":
      return {
        name: source.name,
        tls_certificate: {
          certificate_chain: { inline_string: source.certificateChain },
          private_key: { inline_string: source.privateKey },
        },
      };
    case "ca": {
      const context: JsonObject = { trusted_ca: { inline_string: source.certificateChain } };
      if (source.crl !== undefined) context.crl = { inline_string: source.crl };
      return { name: source.name, validation_context: context };
    }
    case "crl":
      return { name: source.name, validation_context: { crl: { inline_string: source.certificateChain } } };
  }
}

// Who is on the other end of an xDS stream, by its TLS client certificate: in split mode a node is
// what its certificate says, not the node id it claims. Undefined on plaintext streams (colocated).
import type { PeerCertificate } from "node:tls";
import type { NodeInfo } from "./types.ts";

interface CallWithAuth {
  getAuthContext?: () => { sslPeerCertificate?: PeerCertificate } | null | undefined;
}

/**
 * The identity of a verified client certificate: its first URI SAN (SPIFFE style), else its common
 * name, else its first DNS SAN. grpc-js reports a certificate only once the handshake verified it.
 */
export function peerIdentity(call: CallWithAuth): string | undefined {
  let certificate: PeerCertificate | undefined;
  try {
    certificate = call.getAuthContext?.()?.sslPeerCertificate ?? undefined;
  } catch {
    return undefined;
  }
  if (!certificate) return undefined;
  return identityOfCertificate(certificate);
}

export function identityOfCertificate(certificate: Pick<PeerCertificate, "subject" | "subjectaltname">): string | undefined {
  const alternatives = (certificate.subjectaltname ?? "").split(/,\s*/).filter((entry) => entry !== "");
  const uri = alternatives.find((entry) => entry.startsWith("URI:"));
  if (uri) return uri.slice("URI:".length);
  const commonName = certificate.subject?.CN;
  const cn = Array.isArray(commonName) ? commonName[0] : commonName;
  if (cn) return cn;
  const dns = alternatives.find((entry) => entry.startsWith("DNS:"));
  return dns ? dns.slice("DNS:".length) : undefined;
}

/** The name a node view should key on: the certificate's identity when there is one, else the claimed node id. */
export function nodeIdentity(node: NodeInfo): string {
  return node.identity ?? node.id;
}

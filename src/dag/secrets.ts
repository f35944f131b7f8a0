// Validation of the Secrets routes point at: TLS certificate/key pairs (type, PEM, key matches the
// certificate, validity dates), CA bundles (`ca.crt`) and CRLs (`crl.pem`), and the
// TLSCertificateDelegation check for references across namespaces. Parsing is cached per Secret
// object, so an unchanged Secret is parsed once however many rebuilds see it.
import { Buffer } from "node:buffer";
import { X509Certificate, createHash, createPrivateKey, createPublicKey } from "node:crypto";
import { x509 } from "../certs/x509-lib.ts";
import type { KubeObject } from "../sources/types.ts";
import { remembered, type CheckedSecret, type DagCache, type ParsedSecret } from "./cache.ts";
import { readCrdSpec, type ReadSpec } from "./crd-reader.ts";
import type { TLSCertificateDelegationSpec } from "./crd-types.ts";
import { crdSchemaErrors } from "./crd-schema.ts";
import type { DagInput } from "./processor.ts";
import type { Secret } from "./types.ts";

type Checked = CheckedSecret;

/** The decoded value of one key of a Secret (`stringData` wins over base64 `data`), if present. */
export function secretValue(secret: KubeObject, key: string): string | undefined {
  const stringData = secret.stringData as Record<string, unknown> | undefined;
  const fromString = stringData?.[key];
  if (typeof fromString === "string") return fromString;
  const data = secret.data as Record<string, unknown> | undefined;
  const encoded = data?.[key];
  if (typeof encoded !== "string") return undefined;
  return Buffer.from(encoded, "base64").toString("utf8");
}

function pemBlocks(text: string): Array<{ type: string; der: ArrayBuffer }> | string {
  if (!text.includes("-----BEGIN")) return "failed to locate PEM block";
  try {
    return x509.PemConverter.decodeWithHeaders(text).map((block) => ({ type: block.type, der: block.rawData }));
  } catch (error) {
    return `failed to parse PEM block: ${(error as Error).message}`;
  }
}

// node:crypto's X509Certificate (native: about 15× faster than @peculiar/x509's ASN.1 schema parser,
// which took 5.6 s for 5k TLS Secrets); @peculiar/x509 still splits the PEM and parses CRLs.
function parseCertificates(text: string): X509Certificate[] | string {
  const blocks = pemBlocks(text);
  if (typeof blocks === "string") return blocks;
  const certificates: X509Certificate[] = [];
  for (const block of blocks) {
    if (block.type !== "CERTIFICATE") return `unexpected block type '${block.type}'`;
    try {
      certificates.push(new X509Certificate(Buffer.from(block.der)));
    } catch (error) {
      return `failed to parse certificate: ${(error as Error).message}`;
    }
  }
  if (certificates.length === 0) return "failed to locate certificate";
  return certificates;
}

const privateKeyTypes = new Set(["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"]);

function checkTls(secret: KubeObject): Checked {
  const type = typeof secret.type === "string" ? secret.type : "";
  if (type !== "kubernetes.io/tls") return { error: `Secret type is "${type || "Opaque"}", not "kubernetes.io/tls"` };
  const chain = secretValue(secret, "tls.crt");
  if (chain === undefined || chain.trim() === "") return { error: "missing TLS certificate" };
  const certificates = parseCertificates(chain);
  if (typeof certificates === "string") return { error: `invalid TLS certificate: ${certificates}` };
  const key = secretValue(secret, "tls.key");
  if (key === undefined || key.trim() === "") return { error: "missing TLS private key" };
  const blocks = pemBlocks(key);
  if (typeof blocks === "string") return { error: `invalid TLS private key: ${blocks}` };
  const keys = blocks.filter((b) => b.type !== "EC PARAMETERS");
  const unexpected = keys.find((b) => !privateKeyTypes.has(b.type));
  if (unexpected) return { error: `invalid TLS private key: unexpected block type '${unexpected.type}'` };
  if (keys.length === 0) return { error: "invalid TLS private key: failed to locate private key" };
  if (keys.length > 1) return { error: "invalid TLS private key: multiple private keys" };
  let publicKeyDer: Buffer;
  try {
    const privateKey = createPrivateKey({ key, format: "pem" });
    publicKeyDer = createPublicKey(privateKey).export({ type: "spki", format: "der" });
  } catch (error) {
    return { error: `invalid TLS private key: ${(error as Error).message}` };
  }
  const leaf = certificates[0] as X509Certificate;
  let leafKeyDer: Buffer;
  try {
    leafKeyDer = leaf.publicKey.export({ type: "spki", format: "der" });
  } catch (error) {
    return { error: `invalid TLS certificate: ${(error as Error).message}` };
  }
  if (!publicKeyDer.equals(leafKeyDer)) {
    return { error: "TLS private key does not match the certificate's public key" };
  }
  return { ok: { certificateChain: chain, privateKey: key, notBefore: new Date(leaf.validFrom), notAfter: new Date(leaf.validTo) } };
}

function checkCa(secret: KubeObject): Checked {
  const bundle = secretValue(secret, "ca.crt");
  if (bundle === undefined || bundle.trim() === "") return { error: "empty CA certificate bundle" };
  const certificates = parseCertificates(bundle);
  if (typeof certificates === "string") return { error: `invalid CA certificate bundle: ${certificates}` };
  return { ok: { certificateChain: bundle, privateKey: "" } };
}

function checkCrl(secret: KubeObject): Checked {
  const crl = secretValue(secret, "crl.pem");
  if (crl === undefined || crl.trim() === "") return { error: "empty CRL" };
  const blocks = pemBlocks(crl);
  if (typeof blocks === "string") return { error: `invalid CRL: ${blocks}` };
  for (const block of blocks) {
    if (block.type !== "X509 CRL") return { error: `invalid CRL: unexpected block type '${block.type}'` };
    try {
      new x509.X509Crl(block.der);
    } catch (error) {
      return { error: `invalid CRL: ${(error as Error).message}` };
    }
  }
  return { ok: { certificateChain: crl, privateKey: "" } };
}

/** Why a Secret's certificate is outside its validity period at `now`, or undefined. */
function checkValidity(parsed: ParsedSecret, now: Date): string | undefined {
  if (parsed.notAfter && parsed.notAfter.getTime() < now.getTime()) {
    return `certificate expired at ${parsed.notAfter.toISOString()}`;
  }
  if (parsed.notBefore && parsed.notBefore.getTime() > now.getTime()) {
    return `certificate is not valid before ${parsed.notBefore.toISOString()}`;
  }
  return undefined;
}

/** A DAG Secret from validated content; the SDS name carries a hash of the content. */
function toSecret(secret: KubeObject, kind: Secret["kind"], parsed: ParsedSecret): Secret {
  const namespace = secret.metadata.namespace ?? "";
  const hash = createHash("sha256").update(kind).update("\0").update(parsed.certificateChain).update("\0").update(parsed.privateKey);
  return {
    name: `${namespace}/${secret.metadata.name}/${hash.digest("hex").slice(0, 8)}`,
    ref: { kind: "Secret", namespace, name: secret.metadata.name },
    certificateChain: parsed.certificateChain,
    privateKey: parsed.privateKey,
    kind,
  };
}

export type SecretCheck = { ok: Secret } | { error: string };

const checks = { tls: checkTls, ca: checkCa, crl: checkCrl };

/**
 * Validates a Secret for the given use: "tls" (certificate and key), "ca" (`ca.crt`) or "crl"
 * (`crl.pem`). With a cache, an unchanged Secret is parsed once however many builds see it.
 */
export function validateSecret(secret: KubeObject, options: { kind: Secret["kind"]; now: Date; cache?: DagCache }): SecretCheck {
  const { kind, now } = options;
  const result = remembered(options.cache?.secrets[kind], secret, checks[kind]);
  if ("error" in result) return result;
  const expired = kind === "tls" ? checkValidity(result.ok, now) : undefined;
  if (expired) return { error: expired };
  return { ok: toSecret(secret, kind, result.ok) };
}

/** The typed spec of a TLSCertificateDelegation and its mistyped fields (read once per object with a cache). */
export function readDelegationSpec(delegation: KubeObject, cache?: DagCache): ReadSpec<TLSCertificateDelegationSpec> {
  return remembered(cache?.specs, delegation, (d) => readCrdSpec("TLSCertificateDelegation", d.spec)) as ReadSpec<TLSCertificateDelegationSpec>;
}

/**
 * True when an object in `targetNamespace` may use Secret `namespace/name`: same namespace, or a
 * TLSCertificateDelegation in the Secret's namespace delegates that Secret (or "*") to the target
 * namespace (or "*").
 */
export function delegationPermitted(
  input: DagInput,
  secret: { namespace: string; name: string; targetNamespace: string; checkCrdSchema?: boolean; cache?: DagCache },
): boolean {
  const { targetNamespace } = secret;
  if (secret.namespace === targetNamespace) return true;
  for (const delegation of input.tlsCertificateDelegations()) {
    if (delegation.metadata.namespace !== secret.namespace) continue;
    // In manifest mode a delegation that fails its CRD's schema (it says so in its status) grants nothing.
    if (secret.checkCrdSchema && crdSchemaErrors("TLSCertificateDelegation", delegation, secret.cache).length > 0) continue;
    for (const entry of readDelegationSpec(delegation, secret.cache).spec.delegations ?? []) {
      if (entry.secretName !== secret.name && entry.secretName !== "*") continue;
      const targets = entry.targetNamespaces ?? [];
      if (targets.includes("*") || targets.includes(targetNamespace)) return true;
    }
  }
  return false;
}

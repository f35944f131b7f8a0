// Certificates for the agent's mTLS with Envoy: a CA, server and client leaves, issued with
// @peculiar/x509 on WebCrypto (works the same on Bun, Deno and Node). PEM in, PEM out; no files here.
import type { Extension } from "@peculiar/x509"; // types only: erased, so load order is x509-lib's
import { x509 } from "./x509-lib.ts";

const subtle = globalThis.crypto.subtle;
type X509Certificate = InstanceType<typeof x509.X509Certificate>;

export type KeyAlgorithm = "ecdsa-p256" | "ecdsa-p384" | "rsa-2048" | "rsa-3072" | "rsa-4096";
export const keyAlgorithms: readonly KeyAlgorithm[] = ["ecdsa-p256", "ecdsa-p384", "rsa-2048", "rsa-3072", "rsa-4096"];

/** A certificate and its private key, both PEM. */
export interface PemPair {
  certificatePem: string;
  privateKeyPem: string;
}

export type LeafUsage = "server" | "client" | "both";

const DAY_MS = 86_400_000;

function algorithmParams(algorithm: KeyAlgorithm): RsaHashedKeyGenParams | EcKeyGenParams {
  switch (algorithm) {
    case "ecdsa-p256":
      return { name: "ECDSA", namedCurve: "P-256" };
    case "ecdsa-p384":
      return { name: "ECDSA", namedCurve: "P-384" };
    default: {
      const bits = Number(algorithm.slice("rsa-".length));
      return { name: "RSASSA-PKCS1-v1_5", modulusLength: bits, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" };
    }
  }
}

function signingAlgorithm(key: CryptoKey): Algorithm | EcdsaParams {
  if (key.algorithm.name === "ECDSA") {
    const curve = (key.algorithm as EcKeyAlgorithm).namedCurve;
    return { name: "ECDSA", hash: curve === "P-384" ? "SHA-384" : "SHA-256" } as EcdsaParams;
  }
  return { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" } as Algorithm;
}

/** A random positive serial of 128 bits (RFC 5280 asks for at most 20 octets, CAs use >= 64 bits). */
export function randomSerial(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0]! & 0x7f) | 0x01; // positive, and no leading zero octet
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

async function generateKeys(algorithm: KeyAlgorithm): Promise<CryptoKeyPair> {
  return (await subtle.generateKey(algorithmParams(algorithm), true, ["sign", "verify"])) as CryptoKeyPair;
}

async function privateKeyToPem(key: CryptoKey): Promise<string> {
  const der = await subtle.exportKey("pkcs8", key);
  return x509.PemConverter.encode(der, "PRIVATE KEY");
}

/** Imports a PKCS#8 PEM private key for signing, with the algorithm of the certificate it belongs to. */
export async function importPrivateKey(privateKeyPem: string, certificate: X509Certificate): Promise<CryptoKey> {
  const ders = x509.PemConverter.decode(privateKeyPem);
  if (ders.length !== 1) throw new Error("expected exactly one PEM private key");
  const publicAlgorithm = certificate.publicKey.algorithm as RsaHashedKeyAlgorithm | EcKeyAlgorithm;
  const params =
    publicAlgorithm.name === "ECDSA"
      ? { name: "ECDSA", namedCurve: (publicAlgorithm as EcKeyAlgorithm).namedCurve }
      : { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
  return subtle.importKey("pkcs8", ders[0]!, params, true, ["sign"]);
}

/** Parses every certificate of a PEM bundle, in order. Throws when there is none. */
export function parseCertificates(pem: string): X509Certificate[] {
  const certificates = x509.PemConverter.decode(pem).map((der) => new x509.X509Certificate(der));
  if (certificates.length === 0) throw new Error("no PEM certificate found");
  return certificates;
}

export interface CaOptions {
  commonName?: string;
  keyAlgorithm?: KeyAlgorithm;
  validityDays?: number;
  now?: Date;
}

/** A self-signed CA, allowed to sign leaves only (path length 0). */
export async function createCa(options: CaOptions = {}): Promise<PemPair> {
  const keys = await generateKeys(options.keyAlgorithm ?? "ecdsa-p256");
  const now = options.now ?? new Date();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomSerial(),
    name: `CN=${escapeRdn(options.commonName ?? "isobar CA")}`,
    notBefore: new Date(now.getTime() - 5 * 60_000), // tolerate clock skew
    notAfter: new Date(now.getTime() + (options.validityDays ?? 3650) * DAY_MS),
    keys,
    signingAlgorithm: signingAlgorithm(keys.privateKey),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certificatePem: certificate.toString("pem"), privateKeyPem: await privateKeyToPem(keys.privateKey) };
}

export interface LeafOptions {
  commonName: string;
  dnsNames?: string[];
  ipAddresses?: string[];
  usage: LeafUsage;
  keyAlgorithm?: KeyAlgorithm;
  validityDays?: number;
  now?: Date;
}

/** A leaf signed by `ca`, with the key usages and extended key usages its role needs. */
export async function issueLeaf(ca: PemPair, options: LeafOptions): Promise<PemPair> {
  const [caCertificate] = parseCertificates(ca.certificatePem);
  const caKey = await importPrivateKey(ca.privateKeyPem, caCertificate!);
  const keys = await generateKeys(options.keyAlgorithm ?? "ecdsa-p256");
  const now = options.now ?? new Date();
  const notAfter = new Date(now.getTime() + (options.validityDays ?? 90) * DAY_MS);
  if (notAfter > caCertificate!.notAfter) throw new Error(`the leaf would outlive its CA (CA expires ${caCertificate!.notAfter.toISOString()})`);
  const extendedUsages = options.usage === "server" ? [x509.ExtendedKeyUsage.serverAuth] : options.usage === "client" ? [x509.ExtendedKeyUsage.clientAuth] : [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth];
  const keyUsage = keys.privateKey.algorithm.name === "ECDSA" ? x509.KeyUsageFlags.digitalSignature : x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment;
  const names = [...(options.dnsNames ?? []).map((value) => ({ type: "dns" as const, value })), ...(options.ipAddresses ?? []).map((value) => ({ type: "ip" as const, value }))];
  const extensions: Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(keyUsage, true),
    new x509.ExtendedKeyUsageExtension(extendedUsages, false),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(caCertificate!.publicKey),
  ];
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names, false));
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerial(),
    subject: `CN=${escapeRdn(options.commonName)}`,
    issuer: caCertificate!.subject,
    notBefore: new Date(now.getTime() - 5 * 60_000),
    notAfter,
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: signingAlgorithm(caKey),
    extensions,
  });
  return { certificatePem: certificate.toString("pem"), privateKeyPem: await privateKeyToPem(keys.privateKey) };
}

/** The DNS names a Kubernetes Service answers to, as SANs: name, name.ns, name.ns.svc, name.ns.svc.cluster.local. */
export function serviceDnsNames(name: string, namespace: string, clusterDomain = "cluster.local"): string[] {
  return [name, `${name}.${namespace}`, `${name}.${namespace}.svc`, `${name}.${namespace}.svc.${clusterDomain}`];
}

function escapeRdn(value: string): string {
  return value.replace(/([,+"\\<>;=])/g, "\\$1");
}

/**
 * Why `pem` is not a private key isobar can use, or undefined: an encrypted key (PKCS#8
 * "ENCRYPTED PRIVATE KEY" or OpenSSL's "Proc-Type: 4,ENCRYPTED"), or no PEM private key at all.
 */
export function privateKeyProblem(pem: string): string | undefined {
  if (pem.includes("-----BEGIN ENCRYPTED PRIVATE KEY-----") || /^Proc-Type:\s*4,\s*ENCRYPTED/m.test(pem)) {
    return "holds an encrypted private key: isobar needs an unencrypted PEM key (decrypt it first, for example with `openssl pkey -in KEY -out PLAIN-KEY`)";
  }
  if (!/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(pem)) return "holds no PEM private key";
  return undefined;
}

/** Whether `privateKeyPem` is the key of `certificate`: compares the public keys. */
export async function keyMatchesCertificate(privateKeyPem: string, certificate: X509Certificate): Promise<boolean> {
  try {
    const privateKey = await importPrivateKey(privateKeyPem, certificate);
    const jwk = await subtle.exportKey("jwk", privateKey);
    const certificateJwk = await subtle.exportKey("jwk", await certificate.publicKey.export());
    return jwk.kty === "EC" ? jwk.x === certificateJwk.x && jwk.y === certificateJwk.y : jwk.n === certificateJwk.n && jwk.e === certificateJwk.e;
  } catch {
    return false;
  }
}

export interface CertificateSummary {
  subject: string;
  issuer: string;
  serialNumber: string;
  dnsNames: string[];
  ipAddresses: string[];
  notBefore: string;
  notAfter: string;
  daysLeft: number;
  isCa: boolean;
  extendedKeyUsages: string[];
}

/** What a person wants to know of a certificate, relative to `now`. */
export function summarize(certificate: X509Certificate, now = new Date()): CertificateSummary {
  const san = certificate.getExtension(x509.SubjectAlternativeNameExtension);
  const constraints = certificate.getExtension(x509.BasicConstraintsExtension);
  const eku = certificate.getExtension(x509.ExtendedKeyUsageExtension);
  const ekuNames: Record<string, string> = { [x509.ExtendedKeyUsage.serverAuth]: "serverAuth", [x509.ExtendedKeyUsage.clientAuth]: "clientAuth" };
  return {
    subject: certificate.subject,
    issuer: certificate.issuer,
    serialNumber: certificate.serialNumber,
    dnsNames: san?.names.items.filter((n) => n.type === "dns").map((n) => n.value) ?? [],
    ipAddresses: san?.names.items.filter((n) => n.type === "ip").map((n) => n.value) ?? [],
    notBefore: certificate.notBefore.toISOString(),
    notAfter: certificate.notAfter.toISOString(),
    daysLeft: Math.floor((certificate.notAfter.getTime() - now.getTime()) / DAY_MS),
    isCa: constraints?.ca ?? false,
    extendedKeyUsages: (eku?.usages ?? []).map((u) => ekuNames[String(u)] ?? String(u)),
  };
}

/**
 * Verifies that `leaf` was signed by one of `cas` and that both are within their validity at `now`.
 * Returns undefined when good, else why not.
 */
export async function verifyChain(leaf: X509Certificate, cas: X509Certificate[], now = new Date()): Promise<string | undefined> {
  if (now < leaf.notBefore) return `certificate ${leaf.subject} is not valid before ${leaf.notBefore.toISOString()}`;
  if (now > leaf.notAfter) return `certificate ${leaf.subject} expired at ${leaf.notAfter.toISOString()}`;
  for (const ca of cas) {
    if (ca.subject !== leaf.issuer) continue;
    if (now > ca.notAfter) return `CA ${ca.subject} expired at ${ca.notAfter.toISOString()}`;
    if (await leaf.verify({ publicKey: ca.publicKey, signatureOnly: true })) return undefined;
  }
  return `certificate ${leaf.subject} is not signed by the given CA (issuer ${leaf.issuer})`;
}

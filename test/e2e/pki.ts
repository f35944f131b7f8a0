// Certificates and TLS clients for the real-Envoy TLS tests: CAs, server and client leaves (issued
// by src/certs/x509.ts, the code `agent certs` uses), CRLs, the Kubernetes Secrets that carry them,
// a TLS echo backend (for passthrough), and a raw HTTP/1.1-over-TLS client that reports which
// certificate the server presented, with or without SNI.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { connect as connectH2 } from "node:http2";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, createServer as createTlsServer } from "node:tls";
import { normalizeSerial } from "../helpers/tls-probe.ts";
import { createCa, issueLeaf, parseCertificates, type PemPair } from "../../src/certs/x509.ts";
import { x509 } from "../../src/certs/x509-lib.ts";

export type { PemPair } from "../../src/certs/x509.ts";

export function testCa(commonName: string): Promise<PemPair> {
  return createCa({ commonName, validityDays: 30 });
}

export function serverCertificate(ca: PemPair, dnsNames: string[]): Promise<PemPair> {
  return issueLeaf(ca, { commonName: dnsNames[0]!, dnsNames, usage: "server", validityDays: 7 });
}

export function clientCertificate(ca: PemPair, commonName: string): Promise<PemPair> {
  return issueLeaf(ca, { commonName, usage: "client", validityDays: 7 });
}

/** The serial of a PEM certificate as hex, the way a CRL entry names it. */
export function serialOf(certificatePem: string): string {
  return parseCertificates(certificatePem)[0]!.serialNumber;
}

/** A CRL signed by `ca` revoking the given certificates (PEM). */
export async function crlFor(ca: PemPair, revoked: string[]): Promise<string> {
  const caCertificate = parseCertificates(ca.certificatePem)[0]!;
  const der = x509.PemConverter.decode(ca.privateKeyPem)[0]!;
  const signingKey = await crypto.subtle.importKey("pkcs8", der, { name: "ECDSA", namedCurve: "P-256" }, false, ["sign"]);
  const now = Date.now();
  const crl = await x509.X509CrlGenerator.create({
    issuer: caCertificate.subject,
    thisUpdate: new Date(now - 3600_000),
    nextUpdate: new Date(now + 7 * 86_400_000),
    signingKey,
    signingAlgorithm: { name: "ECDSA", hash: "SHA-256" } as EcdsaParams,
    entries: revoked.map((pem) => ({ serialNumber: serialOf(pem), revocationDate: new Date(now - 60_000), reason: x509.X509CrlReason.keyCompromise })),
    extensions: [await x509.AuthorityKeyIdentifierExtension.create(caCertificate.publicKey)],
  });
  // The library labels the block "CRL"; OpenSSL, BoringSSL and Contour read "X509 CRL".
  return x509.PemConverter.encode(crl.rawData, "X509 CRL");
}

function secretYaml(namespace: string, name: string, type: string, data: Record<string, string>): string {
  const fields = Object.entries(data)
    .map(([key, value]) => `  ${key}: |\n${value.trim().split("\n").map((line) => `    ${line}`).join("\n")}`)
    .join("\n");
  return `apiVersion: v1\nkind: Secret\nmetadata: { name: ${name}, namespace: ${namespace} }\ntype: ${type}\nstringData:\n${fields}\n`;
}

/** A kubernetes.io/tls Secret holding a certificate (followed by its CA) and its key. */
export function tlsSecret(namespace: string, name: string, pair: PemPair, ca?: PemPair): string {
  const chain = ca ? `${pair.certificatePem.trim()}\n${ca.certificatePem.trim()}` : pair.certificatePem;
  return secretYaml(namespace, name, "kubernetes.io/tls", { "tls.crt": chain, "tls.key": pair.privateKeyPem });
}

/** An Opaque Secret with `ca.crt`: a CA bundle for client certificate validation. */
export function caSecret(namespace: string, name: string, ca: PemPair): string {
  return secretYaml(namespace, name, "Opaque", { "ca.crt": ca.certificatePem });
}

/** An Opaque Secret with `crl.pem`. */
export function crlSecret(namespace: string, name: string, crlPem: string): string {
  return secretYaml(namespace, name, "Opaque", { "crl.pem": crlPem });
}

export interface OpensslServerCertificates {
  /** Self-signed, RSA 2048 with a PKCS#1 ("RSA PRIVATE KEY") key. */
  rsa: PemPair;
  /** Self-signed, P-256 with a SEC1 key preceded by an "EC PARAMETERS" block (`openssl ecparam -genkey`). */
  ecParameters: PemPair;
  /** A leaf issued by an intermediate CA: certificatePem is leaf + intermediate; trust `root`. */
  chain: PemPair;
  root: string;
}

/**
 * Server certificates in the shapes openssl (and tools built on it) write, for `<name>.<domain>`
 * with name rsa, ecp and chain. Needs the openssl command.
 */
export function opensslServerCertificates(domain: string): OpensslServerCertificates {
  const dir = mkdtempSync(join(tmpdir(), "isobar-openssl-"));
  const openssl = (...args: string[]) => {
    const run = spawnSync("openssl", args, { cwd: dir, encoding: "utf8" });
    if (run.status !== 0) throw new Error(`openssl ${args.join(" ")}: ${run.stderr || run.error?.message}`);
  };
  const san = (name: string) => ["-addext", `subjectAltName=DNS:${name}.${domain}`];
  try {
    openssl("genrsa", "-traditional", "-out", "rsa.key", "2048");
    openssl("req", "-x509", "-new", "-key", "rsa.key", "-subj", `/CN=rsa.${domain}`, ...san("rsa"), "-days", "2", "-out", "rsa.crt");
    openssl("ecparam", "-name", "prime256v1", "-genkey", "-out", "ecp.key");
    openssl("req", "-x509", "-new", "-key", "ecp.key", "-subj", `/CN=ecp.${domain}`, ...san("ecp"), "-days", "2", "-out", "ecp.crt");
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    openssl("req", "-x509", ...ec, "-keyout", "root.key", "-out", "root.crt", "-subj", "/CN=e2e openssl root", "-days", "3", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
    openssl("req", "-new", ...ec, "-keyout", "inter.key", "-out", "inter.csr", "-subj", "/CN=e2e openssl intermediate");
    writeFileSync(join(dir, "inter.ext"), "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n");
    openssl("x509", "-req", "-in", "inter.csr", "-CA", "root.crt", "-CAkey", "root.key", "-CAcreateserial", "-out", "inter.crt", "-days", "3", "-extfile", "inter.ext");
    openssl("req", "-new", ...ec, "-keyout", "chain.key", "-out", "chain.csr", "-subj", `/CN=chain.${domain}`);
    writeFileSync(join(dir, "leaf.ext"), `subjectAltName=DNS:chain.${domain}\nextendedKeyUsage=serverAuth\n`);
    openssl("x509", "-req", "-in", "chain.csr", "-CA", "inter.crt", "-CAkey", "inter.key", "-CAcreateserial", "-out", "chain.crt", "-days", "2", "-extfile", "leaf.ext");
    const read = (file: string) => readFileSync(join(dir, file), "utf8");
    return {
      rsa: { certificatePem: read("rsa.crt"), privateKeyPem: read("rsa.key") },
      ecParameters: { certificatePem: read("ecp.crt"), privateKeyPem: read("ecp.key") },
      chain: { certificatePem: `${read("chain.crt").trim()}\n${read("inter.crt")}`, privateKeyPem: read("chain.key") },
      root: read("root.crt"),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface TlsExchange {
  /** The server certificate's common name and DNS SANs, when the handshake got that far. */
  serverName?: string;
  dnsNames?: string[];
  /** Its serial, as hex without leading zeros, upper case. */
  serial?: string;
  protocol?: string;
  status?: number;
  body?: string;
  /** Why the exchange failed (handshake refused, connection reset, closed without an answer). */
  error?: string;
}

export interface TlsRequestOptions {
  /** The SNI name; none when absent (the client connects to an IP). */
  servername?: string;
  /** The Host header (default: the SNI name). */
  host?: string;
  path?: string;
  ca: string | string[];
  cert?: string;
  key?: string;
  minVersion?: "TLSv1.2" | "TLSv1.3";
  maxVersion?: "TLSv1.2" | "TLSv1.3";
  headers?: Record<string, string>;
  /** Accept a certificate for another name (the chain is still verified): to see which one a server picks. */
  anyName?: boolean;
}

/** One HTTP/1.1 GET over TLS to 127.0.0.1:port: which certificate the server showed, and its answer. */
export function tlsRequest(port: number, options: TlsRequestOptions): Promise<TlsExchange> {
  return new Promise((resolve) => {
    const socket = connect({
      host: "127.0.0.1",
      port,
      servername: options.servername,
      ca: options.ca,
      cert: options.cert,
      key: options.key,
      minVersion: options.minVersion,
      maxVersion: options.maxVersion,
      ALPNProtocols: ["http/1.1"],
      rejectUnauthorized: true,
      // Without SNI there is no name to check the certificate against (the chain is still verified);
      // the test looks at which certificate it was.
      ...(options.servername === undefined || options.anyName ? { checkServerIdentity: () => undefined } : {}),
    });
    const result: TlsExchange = {};
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      socket.destroy();
      const text = Buffer.concat(chunks).toString("utf8");
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      if (status) {
        result.status = Number(status[1]);
        const split = text.indexOf("\r\n\r\n");
        const body = text.slice(split + 4);
        result.body = /\r\ntransfer-encoding: chunked\r\n/i.test(text.slice(0, split + 2)) ? unchunk(body) : body;
      } else if (!result.error) {
        result.error = "closed without an HTTP answer";
      }
      resolve(result);
    };
    socket.setTimeout(5000, () => {
      result.error ??= "timed out";
      finish();
    });
    socket.on("secureConnect", () => {
      const peer = socket.getPeerCertificate();
      result.protocol = socket.getProtocol() ?? undefined;
      result.serverName = Array.isArray(peer.subject?.CN) ? peer.subject.CN[0] : peer.subject?.CN;
      result.serial = peer.serialNumber ? normalizeSerial(peer.serialNumber) : undefined;
      result.dnsNames = String(peer.subjectaltname ?? "").split(/,\s*/).filter((entry: string) => entry.startsWith("DNS:")).map((entry: string) => entry.slice(4));
      const host = options.host ?? options.servername ?? "localhost";
      const extra = Object.entries(options.headers ?? {}).map(([name, value]) => `${name}: ${value}\r\n`).join("");
      socket.write(`GET ${options.path ?? "/"} HTTP/1.1\r\nhost: ${host}\r\n${extra}connection: close\r\n\r\n`);
    });
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      // Done once the answer is whole: no waiting for the server's delayed close.
      if (responseComplete(Buffer.concat(chunks).toString("utf8"))) finish();
    });
    socket.on("error", (error: Error) => {
      result.error ??= error.message;
      finish();
    });
    socket.on("end", finish);
    socket.on("close", finish);
  });
}

/** Whether an HTTP/1.1 response (headers and a content-length or chunked body) has fully arrived. */
function responseComplete(text: string): boolean {
  const split = text.indexOf("\r\n\r\n");
  if (split < 0) return false;
  const head = text.slice(0, split);
  const length = /\r\ncontent-length: *(\d+)/i.exec(head);
  if (length) return Buffer.byteLength(text.slice(split + 4)) >= Number(length[1]);
  return /\r\ntransfer-encoding: chunked/i.test(head) && text.endsWith("\r\n0\r\n\r\n");
}

/** The body of a chunked HTTP/1.1 message. */
function unchunk(body: string): string {
  let out = "";
  let rest = body;
  for (;;) {
    const lineEnd = rest.indexOf("\r\n");
    const size = Number.parseInt(rest.slice(0, lineEnd), 16);
    if (!(size > 0)) return out;
    out += rest.slice(lineEnd + 2, lineEnd + 2 + size);
    rest = rest.slice(lineEnd + 2 + size + 2);
  }
}

/** GETs over one HTTP/2 connection (ALPN h2) with the given SNI: each request's :authority and answer. */
export async function h2Requests(port: number, options: { servername: string; ca: string; requests: Array<{ authority: string; path: string }> }): Promise<Array<{ status: number; body: string }>> {
  const session = connectH2(`https://127.0.0.1:${port}`, { servername: options.servername, ca: options.ca });
  try {
    const answers: Array<{ status: number; body: string }> = [];
    for (const { authority, path } of options.requests) {
      answers.push(
        await new Promise((resolve, reject) => {
          const stream = session.request({ ":method": "GET", ":path": path, ":authority": authority, ":scheme": "https" });
          let status = 0;
          let body = "";
          stream.setEncoding("utf8");
          stream.on("response", (headers) => (status = Number(headers[":status"])));
          stream.on("data", (chunk: string) => (body += chunk));
          stream.on("end", () => resolve({ status, body }));
          stream.on("error", reject);
          stream.end();
        }),
      );
    }
    return answers;
  } finally {
    session.close();
  }
}

export interface TlsEcho {
  port: number;
  /** How many HTTP requests it answered. */
  requests(): number;
  close(): Promise<void>;
}

/**
 * An HTTPS backend on 127.0.0.1 that answers its name, the SNI it was asked for, the Host and path,
 * and (with `askClientCertificate`) the common name of the client certificate it was shown, if any.
 * Plain node:tls with one HTTP/1.1 answer per connection: Bun's https server does not expose the
 * peer certificate.
 */
export function startTlsEcho(name: string, pair: PemPair, options: { askClientCertificate?: boolean } = {}): Promise<TlsEcho> {
  const asked = options.askClientCertificate === true;
  let requests = 0;
  // Asked, not required: the test looks at what was presented.
  const server = createTlsServer({ cert: pair.certificatePem, key: pair.privateKeyPem, requestCert: asked, rejectUnauthorized: false }, (socket) => {
    let head = "";
    socket.setEncoding("utf8");
    socket.on("error", () => {});
    socket.on("data", (chunk: string) => {
      head += chunk;
      if (!head.includes("\r\n\r\n")) return;
      requests++;
      const [method, path] = head.split(" ");
      const host = /\r\nhost: *([^\r]*)/i.exec(head)?.[1];
      const peer = asked ? socket.getPeerCertificate() : undefined;
      const client = peer?.subject ? (Array.isArray(peer.subject.CN) ? peer.subject.CN[0] : peer.subject.CN) : undefined;
      const body = `${JSON.stringify({ backend: name, sni: socket.servername || undefined, method, host, path, client })}\n`;
      socket.end(`HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      resolve({ port, requests: () => requests, close: () => new Promise((done) => server.close(() => done())) });
    });
  });
}

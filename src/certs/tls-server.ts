// TLS for `agent serve`: gRPC server credentials from a CA bundle, a certificate and a key on disk.
// TLS 1.3 only, and a client certificate chained to the CA is required. The files are re-read while
// serving: rotated material takes effect for new handshakes, without a restart and without touching
// established streams. A file is read again only when its stat (device, inode, size, mtime) changed,
// and no file larger than maxTlsFileBytes is read. Also the bind-address rule (no plaintext beyond
// loopback unless --insecure).
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { createSecureContext, type SecureContextOptions } from "node:tls";
import { ServerCredentials } from "@grpc/grpc-js";
import { consola } from "consola";
import { UserError } from "../base/errors.ts";
import { ipScope } from "../base/ip-scope.ts";
import { keyMatchesCertificate, parseCertificates, privateKeyProblem, summarize } from "./x509.ts";

const log = consola.withTag("tls");

/** Bad or inconsistent TLS files or bind address (exit 2 at the CLI). */
export class TlsSetupError extends UserError {
  override name = "TlsSetupError";
}

export interface TlsFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/** The environment variables `agent serve` reads when the matching flag is absent. */
export const tlsEnv = { caFile: "ISOBAR_CA_FILE", certFile: "ISOBAR_CERT_FILE", keyFile: "ISOBAR_KEY_FILE" } as const;
/** Contour's names for them, read when ours are not set. */
export const contourTlsEnv = { caFile: "CONTOUR_CAFILE", certFile: "CONTOUR_CERT_FILE", keyFile: "CONTOUR_KEY_FILE" } as const;

/**
 * The TLS files from flags, else from the environment: all three or none (undefined).
 * Some but not all is a TlsSetupError naming what is missing.
 */
export function resolveTlsFiles(flags: Partial<TlsFiles>, env: Record<string, string | undefined> = process.env): TlsFiles | undefined {
  const pick = (key: keyof TlsFiles) => (flags[key] || env[tlsEnv[key]] || env[contourTlsEnv[key]] || "").trim();
  const files = { caFile: pick("caFile"), certFile: pick("certFile"), keyFile: pick("keyFile") };
  const missing = (Object.keys(files) as Array<keyof TlsFiles>).filter((key) => files[key] === "");
  if (missing.length === 3) return undefined;
  if (missing.length > 0) {
    const flag = (key: keyof TlsFiles) => `--${key.replace("File", "-file")} (${tlsEnv[key]}, ${contourTlsEnv[key]})`;
    throw new TlsSetupError(`--ca-file, --cert-file and --key-file go together: give all three or none (missing ${missing.map(flag).join(", ")})`);
  }
  return files;
}

/** True for 127.0.0.0/8, ::1, an IPv4-mapped loopback and `localhost`. */
export function isLoopbackAddress(address: string): boolean {
  const host = address.replace(/^\[|\]$/g, "").toLowerCase();
  return host === "localhost" || ipScope(host) === "loopback";
}

/** Plaintext xDS is served on loopback only, unless the operator says `--insecure`. */
export function checkBindAddress(address: string, options: { tls: boolean; insecure: boolean }): void {
  if (options.tls || isLoopbackAddress(address)) return;
  if (!options.insecure) {
    throw new TlsSetupError(`refusing to serve xDS without TLS on ${address}: give --ca-file, --cert-file and --key-file, bind a loopback address, or pass --insecure`);
  }
  log.warn(`serving xDS WITHOUT TLS on ${address} (--insecure): anyone who reaches this port can read every secret`);
}

export interface CertificateDaysLeft {
  /** The file the certificate came from. */
  file: string;
  subject: string;
  serialNumber: string;
  notAfter: string;
  /** Whole days until it expires; negative once expired. */
  daysLeft: number;
}

export interface ServerTls {
  /** For startXdsServer: TLS 1.3 only, client certificate chained to the CA required. */
  readonly credentials: ServerCredentials;
  /** Reads the files now; installs and resolves true when they changed and are usable. */
  reload(): Promise<boolean>;
  /** The days left of every certificate served or trusted (the CA bundle and the server's chain). */
  certificateDaysLeft(now?: Date): CertificateDaysLeft[];
  /** Stops watching the files. */
  close(): void;
}

interface Material {
  digest: string;
  /** The files' stat when they were read (statFiles). */
  stat: FilesStat;
  context: SecureContextOptions;
  certificates: Array<{ file: string; certificate: Certificate }>;
  /** The certificate the server presents (the first of its chain). */
  server: Certificate;
  caCount: number;
}

type Certificate = ReturnType<typeof parseCertificates>[number];

/**
 * Server credentials whose secure context is replaced in place: the gRPC server applies each update
 * with setSecureContext, which affects new handshakes only. TLS settings sit in both the constructor
 * options and every context, so a replaced context cannot lose them.
 */
class ReloadableServerCredentials extends ServerCredentials {
  constructor(context: SecureContextOptions) {
    super({ requestCert: true, rejectUnauthorized: true, minVersion: "TLSv1.3" }, context);
  }
  override _equals(other: ServerCredentials): boolean {
    return other === this;
  }
  install(context: SecureContextOptions): void {
    this.updateSecureContextOptions(context);
  }
}

const servers = new Set<ServerTls>();

/**
 * Loads the files (throws a TlsSetupError when they are unreadable or do not fit together) and re-reads
 * them every `reloadIntervalMs` (default 5 s; Kubernetes updates mounted Secrets within about a minute).
 * A half-written rotation (a new certificate beside the old key) is skipped until it is complete.
 */
export async function loadServerTls(files: TlsFiles, options: { reloadIntervalMs?: number } = {}): Promise<ServerTls> {
  let current: Material;
  try {
    current = await readMaterial(files);
  } catch (error) {
    throw new TlsSetupError(`TLS files unusable: ${(error as Error).message}`);
  }
  logMaterial("loaded", current);
  const credentials = new ReloadableServerCredentials(current.context);
  let lastProblem = "";
  let reloading: Promise<boolean> | undefined;
  let seen = current.stat;

  async function reload(): Promise<boolean> {
    let next: Material;
    try {
      const stat = statFiles(files);
      if (stat.key === seen.key && !stat.recent) return false;
      seen = stat;
      const content = readFiles(files);
      if (digestOf(content) === current.digest) return false;
      next = await readMaterial(files, stat, content);
    } catch (error) {
      const problem = (error as Error).message;
      if (problem !== lastProblem) log.warn(`TLS files changed but are not usable yet, still serving the previous ones: ${problem}`);
      lastProblem = problem;
      return false;
    }
    lastProblem = "";
    current = next;
    credentials.install(next.context);
    logMaterial("reloaded", next);
    return true;
  }

  // One read at a time: a slow read is not overtaken by the next tick.
  const reloadOnce = () => (reloading ??= reload().finally(() => (reloading = undefined)));
  const timer = setInterval(reloadOnce, Math.max(100, options.reloadIntervalMs ?? 5_000));
  (timer as { unref?: () => void }).unref?.();

  const tls: ServerTls = {
    credentials,
    reload: reloadOnce,
    certificateDaysLeft: (now = new Date()) =>
      current.certificates.map(({ file, certificate }) => {
        const summary = summarize(certificate, now);
        return { file, subject: summary.subject, serialNumber: summary.serialNumber, notAfter: summary.notAfter, daysLeft: summary.daysLeft };
      }),
    close() {
      clearInterval(timer);
      servers.delete(tls);
    },
  };
  servers.add(tls);
  return tls;
}

/** The days left of every certificate of every ServerTls loaded in this process and not closed (for metrics). */
export function certificateDaysLeft(now = new Date()): CertificateDaysLeft[] {
  return [...servers].flatMap((tls) => tls.certificateDaysLeft(now));
}

/** The largest TLS file read (a CA bundle of every public root is about 220 KiB). */
export const maxTlsFileBytes = 4 * 1024 * 1024;

/** Within this of now, an mtime may hide a second write in the same clock tick: the files are read anyway. */
const racyMs = 2_000;

/** What the three files' stats say, as one key; `recent` when one was modified too lately to trust it. */
interface FilesStat {
  key: string;
  recent: boolean;
}

function statFiles(files: TlsFiles): FilesStat {
  let key = "";
  let recent = false;
  for (const path of [files.caFile, files.certFile, files.keyFile]) {
    let stat;
    try {
      stat = statSync(path);
    } catch (error) {
      throw new Error(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
    if (stat.size > maxTlsFileBytes) throw new Error(`${path} is ${stat.size} bytes, more than a TLS file may be (${maxTlsFileBytes} bytes)`);
    key += `${stat.dev}:${stat.ino}:${stat.size}:${stat.mtimeMs}\n`;
    recent ||= Date.now() - stat.mtimeMs < racyMs;
  }
  return { key, recent };
}

function readFiles(files: TlsFiles): { ca: Buffer; cert: Buffer; key: Buffer } {
  const read = (path: string) => {
    let content: Buffer;
    try {
      content = readFileSync(path);
    } catch (error) {
      throw new Error(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
    // It may have grown since its stat.
    if (content.length > maxTlsFileBytes) throw new Error(`${path} is ${content.length} bytes, more than a TLS file may be (${maxTlsFileBytes} bytes)`);
    return content;
  };
  return { ca: read(files.caFile), cert: read(files.certFile), key: read(files.keyFile) };
}

function digestOf(content: { ca: Buffer; cert: Buffer; key: Buffer }): string {
  return createHash("sha256").update(content.ca).update("\0").update(content.cert).update("\0").update(content.key).digest("hex");
}

/** Reads and checks the three files: parseable PEM, an unencrypted key of the certificate, a context builds. */
async function readMaterial(files: TlsFiles, stat = statFiles(files), content = readFiles(files)): Promise<Material> {
  const parse = (file: string, pem: string) => {
    try {
      return parseCertificates(pem);
    } catch (error) {
      throw new Error(`${file}: ${(error as Error).message}`);
    }
  };
  const cas = parse(files.caFile, content.ca.toString("utf8"));
  const chain = parse(files.certFile, content.cert.toString("utf8"));
  const keyProblem = privateKeyProblem(content.key.toString("utf8"));
  if (keyProblem) throw new Error(`${files.keyFile} ${keyProblem}`);
  if (!(await keyMatchesCertificate(content.key.toString("utf8"), chain[0]!))) {
    throw new Error(`${files.keyFile} is not the key of the certificate in ${files.certFile}`);
  }
  const context: SecureContextOptions = { ca: content.ca, cert: content.cert, key: content.key, minVersion: "TLSv1.3" };
  try {
    createSecureContext(context);
  } catch (error) {
    throw new Error(`the TLS library refuses ${files.certFile} / ${files.keyFile}: ${(error as Error).message.split("\n")[0]}`);
  }
  return {
    digest: digestOf(content),
    stat,
    context,
    certificates: [...cas.map((certificate) => ({ file: files.caFile, certificate })), ...chain.map((certificate) => ({ file: files.certFile, certificate }))],
    server: chain[0]!,
    caCount: cas.length,
  };
}

function logMaterial(verb: string, material: Material): void {
  const summary = summarize(material.server);
  log.info(`TLS ${verb}: serving ${summary.subject} (serial ${summary.serialNumber}, ${summary.daysLeft} days left), trusting ${material.caCount} CA certificate(s) for clients`);
  if (summary.daysLeft < 0) log.error(`the server certificate ${summary.subject} expired at ${summary.notAfter}: clients will refuse it`);
}

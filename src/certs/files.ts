// Writing certificates and keys to disk safely: keys 0600, nothing overwritten unless asked, and
// all-or-nothing (every file is written to a temporary name first, then renamed into place).
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { PemPair } from "./x509.ts";

export interface FileToWrite {
  path: string;
  content: string;
  /** 0o600 for private keys, 0o644 for certificates. */
  mode: number;
}

export class CertFileError extends Error {
  override name = "CertFileError";
}

/**
 * Writes every file or none. Refuses (before writing anything) when a target exists and
 * `overwrite` is false. Directories are created 0700 unless `dirMode` says otherwise (a bootstrap
 * read by Envoy running as another user needs 0755).
 */
export function writeFilesAtomically(files: FileToWrite[], options: { overwrite: boolean; dirMode?: number }): void {
  if (!options.overwrite) {
    const existing = files.filter((f) => existsSync(f.path)).map((f) => f.path);
    if (existing.length > 0) throw new CertFileError(`refusing to overwrite ${existing.join(", ")} (use --overwrite)`);
  }
  const suffix = `.tmp-${process.pid}-${Date.now()}`;
  const written: string[] = [];
  try {
    for (const file of files) {
      mkdirSync(dirname(file.path), { recursive: true, mode: options.dirMode ?? 0o700 });
      const temporary = file.path + suffix;
      writeFileSync(temporary, file.content, { mode: file.mode, flag: "wx" });
      chmodSync(temporary, file.mode); // the umask may have narrowed or the file system widened it
      written.push(temporary);
    }
  } catch (error) {
    for (const temporary of written) rmSync(temporary, { force: true });
    throw error;
  }
  for (const file of files) renameSync(file.path + suffix, file.path);
}

/** The files of one identity in cert-manager's layout: `ca.crt`, `tls.crt`, `tls.key`. */
export function identityFiles(dir: string, pair: PemPair, caBundlePem: string): FileToWrite[] {
  return [
    { path: join(dir, "ca.crt"), content: caBundlePem, mode: 0o644 },
    { path: join(dir, "tls.crt"), content: pair.certificatePem, mode: 0o644 },
    { path: join(dir, "tls.key"), content: pair.privateKeyPem, mode: 0o600 },
  ];
}

/** Reads a PEM pair written by identityFiles (or `ca.crt` + `ca.key` for a CA directory). */
export function readPair(certificatePath: string, privateKeyPath: string): PemPair {
  try {
    return { certificatePem: readFileSync(certificatePath, "utf8"), privateKeyPem: readFileSync(privateKeyPath, "utf8") };
  } catch (error) {
    throw new CertFileError(`cannot read ${certificatePath} / ${privateKeyPath}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
}

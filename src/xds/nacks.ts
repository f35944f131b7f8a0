// The record of NACKs: every response a client rejected, with who rejected what and why. Kept in a
// bounded ring for the rest of the program (status, metrics, debug), announced to listeners, and
// logged with names and the reason only, never resource bodies.
import { consola, type ConsolaInstance } from "consola";
import { typeInfo } from "./types.ts";

export interface NackRecord {
  time: Date;
  nodeId: string;
  cluster: string;
  typeUrl: string;
  /** The version_info (sotw) or system_version_info (delta) of the rejected response. */
  version: string;
  /** The names of the resources in the rejected response. */
  resourceNames: string[];
  errorDetail: { code: number; message: string };
  delta: boolean;
}

export interface NackLog {
  record(nack: NackRecord): void;
  /** The most recent NACKs, oldest first. */
  recent(): NackRecord[];
  /** Calls `listener` for every new NACK; returns the function that stops it. */
  on(listener: (nack: NackRecord) => void): () => void;
}

export function createNackLog(options: { capacity?: number; logger?: ConsolaInstance } = {}): NackLog {
  const capacity = options.capacity ?? 256;
  const log = options.logger ?? consola.withTag("xds");
  const ring: NackRecord[] = [];
  const listeners = new Set<(nack: NackRecord) => void>();
  return {
    record(nack) {
      ring.push(nack);
      if (ring.length > capacity) ring.shift();
      const names = nack.resourceNames.length > 10 ? `${nack.resourceNames.slice(0, 10).join(", ")}, …` : nack.resourceNames.join(", ");
      log.warn(
        `NACK from node ${nack.nodeId || "(no id)"} (cluster ${nack.cluster || "-"}) for ${typeInfo(nack.typeUrl)?.short ?? nack.typeUrl} ` +
          `version ${nack.version} [${names}]: ${nack.errorDetail.message.slice(0, 500)}`,
      );
      for (const listener of [...listeners]) listener(nack);
    },
    recent: () => [...ring],
    on(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

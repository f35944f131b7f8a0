// The bundled quickstart (examples/quickstart/*.yaml) made to run on this machine: every object as
// written, except that its EndpointSlices (stand-ins for pods on 10.x addresses) are replaced by
// slices pointing at one local echo backend per Service, named `namespace/name`. Services Contour's
// annotation marks as h2c get an h2c backend.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments, stringify } from "yaml";
import { startEcho, type EchoBackend } from "./echo.ts";

export const quickstartDir = join(import.meta.dir, "../../examples/quickstart");

interface ServiceDoc {
  kind: string;
  metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  spec?: { ports?: Array<{ name?: string; port: number; protocol?: string }> };
}

export interface LocalQuickstart {
  manifests: Record<string, string>;
  /** The echo backend standing in for each Service, by `namespace/name`. */
  backends: Map<string, EchoBackend>;
  close(): Promise<void>;
}

export async function localQuickstart(): Promise<LocalQuickstart> {
  const manifests: Record<string, string> = {};
  const backends = new Map<string, EchoBackend>();
  const slices: string[] = [];
  for (const file of readdirSync(quickstartDir).filter((name) => name.endsWith(".yaml")).sort()) {
    const kept: string[] = [];
    for (const document of parseAllDocuments(readFileSync(join(quickstartDir, file), "utf8"))) {
      const object = document.toJS() as ServiceDoc | null;
      if (!object || object.kind === "EndpointSlice") continue;
      kept.push(document.toString());
      if (object.kind !== "Service") continue;
      const namespace = object.metadata.namespace ?? "default";
      const key = `${namespace}/${object.metadata.name}`;
      const h2c = Object.keys(object.metadata.annotations ?? {}).some((name) => name === "projectcontour.io/upstream-protocol.h2c");
      const backend = await startEcho(key, { protocol: h2c ? "h2c" : "http1" });
      backends.set(key, backend);
      const ports = (object.spec?.ports ?? []).map((port) => ({ name: port.name ?? "", port: backend.port, protocol: port.protocol ?? "TCP" }));
      slices.push(
        stringify({
          apiVersion: "discovery.k8s.io/v1",
          kind: "EndpointSlice",
          metadata: { name: `${object.metadata.name}-local`, namespace, labels: { "kubernetes.io/service-name": object.metadata.name } },
          addressType: "IPv4",
          ports,
          endpoints: [{ addresses: ["127.0.0.1"], conditions: { ready: true } }],
        }),
      );
    }
    manifests[file] = kept.join("---\n");
  }
  manifests["local-endpoints.yaml"] = slices.join("---\n");
  return {
    manifests,
    backends,
    close: async () => void (await Promise.all([...backends.values()].map((backend) => backend.close()))),
  };
}

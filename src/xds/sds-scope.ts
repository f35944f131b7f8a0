// SDS scoping: a node is sent only the secrets that the listeners and clusters in its own view fetch
// over SDS (DownstreamTlsContext in filter chains, UpstreamTlsContext in clusters). A secret nobody in
// that view references is never sent, even when asked for by name. Installed as the store's node view.
import { referencesOfResource } from "./cached-resource.ts";
import type { NodeView, SnapshotStore } from "./snapshot.ts";
import { TypeUrls, type NodeInfo } from "./types.ts";

const scopedBy = [TypeUrls.listener, TypeUrls.cluster] as const;

/**
 * Installs SDS scoping as the store's node view. Without `base` only SDS is narrowed, so every other
 * type keeps the server's whole-type fast paths; with one, the types `base` narrows (`baseTypes`,
 * default all) are narrowed too.
 */
export function installSdsScope(store: SnapshotStore, options: { base?: NodeView; baseTypes?: readonly string[] } = {}): void {
  const types = options.base ? (options.baseTypes ? [...new Set([...options.baseTypes, TypeUrls.secret])] : undefined) : [TypeUrls.secret];
  // What a node sees of SDS follows the listeners and clusters; a base view only the node and names.
  store.setNodeView(scopeSecrets(store, options.base), { types, dependsOn: scopedBy });
}

/**
 * A node view that narrows SDS to the secrets referenced by what `base` lets the node see of
 * listeners and clusters (everything when `base` is absent or answers undefined). Other types are
 * left to `base`. `base` must depend only on the node and the names it is given (key it on
 * `nodeIdentity(node)` from peer.ts, so that in split mode the client certificate decides).
 */
export function scopeSecrets(store: Pick<SnapshotStore, "resources" | "version">, base?: NodeView): NodeView {
  // Per node (one NodeInfo object per stream): the referenced secrets at given LDS and CDS versions.
  const perNode = new WeakMap<NodeInfo, { key: string; secrets: Set<string> }>();

  function referencedSecrets(node: NodeInfo): Set<string> {
    const key = scopedBy.map((typeUrl) => store.version(typeUrl)).join("\u0000");
    const cached = perNode.get(node);
    if (cached && cached.key === key) return cached.secrets;
    const secrets = new Set<string>();
    for (const typeUrl of scopedBy) {
      const all = store.resources(typeUrl);
      const names = [...all.keys()];
      for (const name of base?.(node, typeUrl, names) ?? names) {
        const resource = all.get(name);
        if (!resource) continue;
        // Found once per resource version (the store has found most of them already, checking the set).
        for (const secret of referencesOfResource(typeUrl, resource).secrets) secrets.add(secret);
      }
    }
    perNode.set(node, { key, secrets });
    return secrets;
  }

  return (node, typeUrl, names) => {
    if (typeUrl !== TypeUrls.secret) return base?.(node, typeUrl, names);
    const referenced = referencedSecrets(node);
    const allowedByBase = base?.(node, typeUrl, names);
    const baseSet = allowedByBase ? new Set(allowedByBase) : undefined;
    return names.filter((name) => referenced.has(name) && (!baseSet || baseSet.has(name)));
  };
}

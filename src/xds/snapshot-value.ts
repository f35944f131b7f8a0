// A snapshot as a value (go-control-plane's cache/v3 Snapshot): each type's resources and version,
// never changed once made; the next publish makes a new one beside it. `consistent()` says whether
// every name one resource points at (references.ts) is in it: the store publishes nothing else.
import { missingOfReferences, namesRequired, type ReferenceKind } from "./references.ts";
import { referencesOfResource, type CachedResource } from "./cached-resource.ts";
import { emptyMix, mixVersion, type VersionMix } from "./type-version.ts";
import { resourceTypes, typeInfo } from "./types.ts";

export type TypeMaps = ReadonlyMap<string, Map<string, CachedResource>>;

export class Snapshot {
  /** The snapshot of no resource. */
  static readonly empty = new Snapshot(new Map(resourceTypes.map((info) => [info.typeUrl, new Map()])), new Map());

  private constructor(
    private readonly maps: TypeMaps,
    private readonly mixes: ReadonlyMap<string, VersionMix>,
  ) {}

  /** This snapshot with the given types replaced (each a map and its XOR mix, see type-version.ts). */
  with(types: Iterable<readonly [string, { map: Map<string, CachedResource>; mix: VersionMix }]>): Snapshot {
    const maps = new Map(this.maps);
    const mixes = new Map(this.mixes);
    for (const [typeUrl, { map, mix }] of types) {
      maps.set(typeUrl, map);
      mixes.set(typeUrl, mix);
    }
    return new Snapshot(maps, mixes);
  }

  /** A type's resources by name: an immutable map, shared by every later snapshot the type does not change in. */
  resources(typeUrl: string): Map<string, CachedResource> {
    return this.maps.get(typeUrl) ?? new Map();
  }

  /** The type's XOR mix of resource versions (see type-version.ts). */
  mix(typeUrl: string): VersionMix {
    return this.mixes.get(typeUrl) ?? emptyMix;
  }

  /** The type's version: the XOR of its resources' versions. */
  version(typeUrl: string): string {
    return mixVersion(this.mix(typeUrl));
  }

  /** Whether the snapshot holds a resource of `typeUrl` named `name`. */
  readonly holds = (typeUrl: string, name: string): boolean => this.resources(typeUrl).has(name);

  /** True when every name a resource points at is in the snapshot. */
  consistent(): boolean {
    return this.dangling().length === 0;
  }

  /** Every name a resource points at that the snapshot does not hold, as messages naming both ends. */
  dangling(): string[] {
    const problems: string[] = [];
    for (const info of resourceTypes) {
      if (!namesRequired(info.typeUrl)) continue;
      for (const resource of this.resources(info.typeUrl).values()) problems.push(...this.danglingOf(info.typeUrl, resource));
    }
    return problems;
  }

  /** The names one resource of `typeUrl` points at that the snapshot does not hold. */
  danglingOf(typeUrl: string, resource: CachedResource): string[] {
    if (!namesRequired(typeUrl)) return [];
    const refs = referencesOfResource(typeUrl, resource);
    const missing = missingOfReferences(refs, this.holds);
    if (missing.length === 0) return [];
    const short = typeInfo(typeUrl)?.short ?? typeUrl;
    return missing.map(
      (ref) => `${short} ${resource.name} names ${danglingNames[ref.kind]} ${ref.name}, which does not exist`,
    );
  }
}

const danglingNames: Record<ReferenceKind, string> = { routeConfig: "route config", cluster: "cluster", endpoint: "EDS load assignment", secret: "SDS secret" };

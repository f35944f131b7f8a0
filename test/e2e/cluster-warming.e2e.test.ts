// A changed EDS cluster warms at once in a real Envoy: Envoy finishes warming an updated cluster only
// on an EDS response naming its load assignment, even when the assignment itself did not change; a
// server that sends nothing leaves the cluster warming until initial_fetch_timeout (15 s). The agent
// sends the assignments of the clusters a CDS update carried again, on delta and sotw ADS.
import { afterAll, describe, expect, test } from "bun:test";
import { TypeUrls } from "../../src/xds/types.ts";
import { findReferences } from "../../src/xds/references.ts";
import { buildGolden } from "../helpers/golden-build.ts";
import { envoyConfigState } from "./harness.ts";
import { startEnvoyJudge, type EnvoyJudge } from "./judge.ts";

const judges: EnvoyJudge[] = [];
afterAll(async () => {
  await Promise.all(judges.map((judge) => judge.stop()));
});

for (const xdsMode of ["delta", "sotw"] as const) {
  describe(`${xdsMode} ADS`, () => {
    test("a cluster changed without its endpoints changing is active again without an initial fetch timeout", async () => {
      const judge = await startEnvoyJudge({ xdsMode });
      judges.push(judge);
      const { result } = await buildGolden("ingress-basic", judge);
      const before = result.resources;
      expect(await judge.load(before)).toEqual([]);
      const edsClusters = before.clusters.filter((c) => findReferences(TypeUrls.cluster, c).endpoints.length > 0) as Array<{ name: string; alt_stat_name: string }>;
      const eds = edsClusters.map((c) => c.name);
      expect(eds.length).toBeGreaterThan(0);
      // The same clusters with another connect timeout: new cluster versions, the same load assignments.
      const after = { ...before, clusters: before.clusters.map((c) => ({ ...c, connect_timeout: "3.5s" })) };
      expect(await judge.load(after)).toEqual([]);
      const state = await envoyConfigState(judge.envoy);
      expect(state.warmingClusters).toEqual([]);
      for (const { name, alt_stat_name: statName } of edsClusters) {
        expect(await judge.envoy.stat(`cluster.${statName}.update_success`)).toBeGreaterThan(0);
        expect({ name, timeouts: await judge.envoy.stat(`cluster.${statName}.init_fetch_timeout`) }).toEqual({ name, timeouts: 0 });
      }
      const dump = await judge.envoy.configDump();
      const clusters = (dump.configs.find((c) => String(c["@type"]).endsWith(".ClustersConfigDump")) as { dynamic_active_clusters: Array<{ cluster: { name: string; connect_timeout: string } }> }).dynamic_active_clusters;
      for (const name of eds) expect(clusters.find((c) => c.cluster.name === name)?.cluster.connect_timeout).toBe("3.500s");
    }, 60_000);
  });
}

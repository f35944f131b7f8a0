// Envoy judges the goldens: every case under test/testdata/ is built as the golden tests build it
// (with this Envoy's ports), served over delta ADS to one real Envoy 1.40, and must be accepted whole:
// no NACK, and /config_dump shows every listener active (not warming), every route config, every
// cluster active, every load assignment and every secret the listeners and clusters use. Envoy must
// not count a deprecated field in anything we sent.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { findReferences } from "../../src/xds/references.ts";
import { TypeUrls } from "../../src/xds/types.ts";
import { buildGolden, goldenCases } from "../helpers/golden-build.ts";
import { envoyConfigState, eventually } from "./harness.ts";
import { startEnvoyJudge, type EnvoyJudge } from "./judge.ts";

let judge: EnvoyJudge;

beforeAll(async () => {
  judge = await startEnvoyJudge();
}, 60_000);

afterAll(async () => {
  await judge?.stop();
});

const names = (list: object[], field = "name") => list.map((r) => String((r as Record<string, unknown>)[field])).sort();

describe("golden cases through a real Envoy", () => {
  for (const name of goldenCases()) {
    test(name, async () => {
      const { result } = await buildGolden(name, judge);
      const set = result.resources;
      const nacks = await judge.load(set);
      expect(nacks.map((n) => `${n.typeUrl}: ${n.errorDetail.message}`)).toEqual([]);

      // Expected from the set itself. Every EDS cluster holds its load assignment (the dump lists the
      // other clusters' inline ones too); the secrets are those the listeners and clusters fetch.
      const edsNames = new Set(set.clusters.flatMap((c) => findReferences(TypeUrls.cluster, c).endpoints));
      const used = new Set([...set.listeners.flatMap((l) => findReferences(TypeUrls.listener, l).secrets), ...set.clusters.flatMap((c) => findReferences(TypeUrls.cluster, c).secrets)]);
      const expected = { listeners: names(set.listeners), routes: names(set.routes), clusters: names(set.clusters), endpoints: [...edsNames].sort(), secrets: [...used].sort(), warming: [], errors: [] };
      // The previous case's route configs and secrets linger while its listeners drain: wait for them to go.
      const observed = async () => {
        const state = await envoyConfigState(judge.envoy);
        return {
          listeners: state.activeListeners.sort(),
          routes: state.routeConfigs.sort(),
          clusters: state.activeClusters.sort(),
          endpoints: [...new Set(state.endpoints.filter((e) => edsNames.has(e)))].sort(),
          secrets: state.activeSecrets.sort(),
          warming: [...state.warmingListeners, ...state.warmingClusters, ...state.warmingSecrets],
          errors: state.errors,
        };
      };
      const seen = await eventually(async () => {
        const actual = await observed();
        return Bun.deepEquals(actual, expected) ? actual : false;
      }, { what: `${name} active in Envoy`, timeoutMs: 10_000 }).catch(observed);
      expect(seen).toEqual(expected);
      expect(await judge.envoy.stat("runtime.deprecated_feature_use")).toBe(0);
    });
  }
});

test("Envoy warned about no deprecated field or runtime key, in the bootstrap or in anything served", async () => {
  expect(await judge.envoy.stat("runtime.deprecated_feature_use")).toBe(0);
  expect(judge.envoy.output().split("\n").filter((line) => /deprecated/i.test(line))).toEqual([]);
});

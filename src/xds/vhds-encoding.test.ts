// A VHDS host's bytes are spliced from its route configuration's encoding of the same host
// (resource-encoding.ts renamedHostBytes): they must be what encoding the host resource strictly gives.
import { expect, test } from "bun:test";
import { Buffer } from "node:buffer";
import fc from "fast-check";
import { encodeStrict, lookupType } from "./registry.ts";
import { encodeResource } from "./resource-encoding.ts";
import { typeInfo, TypeUrls } from "./types.ts";
import { virtualHostResources } from "./vhds.ts";
import { createWireEncoder } from "./wire-encode.ts";

const host = fc.record({
  name: fc.stringMatching(/^[a-z0-9.*-]{1,30}$/),
  domains: fc.array(fc.stringMatching(/^[a-z0-9.*-]{1,30}$/), { minLength: 1, maxLength: 3 }),
  routes: fc.array(fc.record({ match: fc.record({ prefix: fc.stringMatching(/^\/[a-z]{0,10}$/) }), direct_response: fc.record({ status: fc.integer({ min: 200, max: 599 }) }) }), { maxLength: 40 }),
});

test("a VHDS host spliced from its route configuration's bytes is the host encoded strictly", () => {
  const routeInfo = typeInfo(TypeUrls.route)!;
  const hostInfo = typeInfo(TypeUrls.virtualHost)!;
  const hostType = lookupType(TypeUrls.virtualHost);
  fc.assert(
    fc.property(fc.uniqueArray(host, { selector: (h) => h.name, minLength: 32, maxLength: 40 }), fc.boolean(), (hosts, unicode) => {
      // A host named outside ASCII is encoded, not spliced: the same bytes either way.
      if (unicode) hosts[0] = { ...hosts[0]!, name: `é${hosts[0]!.name}` };
      const encoder = createWireEncoder();
      const config = { name: "ingress_http", virtual_hosts: hosts };
      encodeResource(routeInfo, config, { encoder });
      const resources = virtualHostResources([config]);
      expect(resources).toHaveLength(hosts.length);
      for (const resource of resources) {
        const { bytes } = encodeResource(hostInfo, resource, { encoder });
        expect(Buffer.from(bytes).equals(Buffer.from(encodeStrict(hostType, resource)))).toBe(true);
      }
    }),
    { numRuns: 60 },
  );
});

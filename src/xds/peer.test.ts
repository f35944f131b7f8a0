import { describe, expect, test } from "bun:test";
import { identityOfCertificate, nodeIdentity, peerIdentity } from "./peer.ts";

describe("peer identity", () => {
  test("a URI SAN first, then the common name, then a DNS SAN", () => {
    expect(identityOfCertificate({ subject: { CN: "envoy" } as never, subjectaltname: "DNS:envoy-a, URI:spiffe://cluster.local/ns/projectcontour/sa/envoy" })).toBe(
      "spiffe://cluster.local/ns/projectcontour/sa/envoy",
    );
    expect(identityOfCertificate({ subject: { CN: "node-a" } as never, subjectaltname: "DNS:envoy" })).toBe("node-a");
    expect(identityOfCertificate({ subject: {} as never, subjectaltname: "DNS:envoy-b, DNS:other" })).toBe("envoy-b");
    expect(identityOfCertificate({ subject: {} as never, subjectaltname: "" })).toBeUndefined();
  });

  test("no verified certificate (plaintext, or an auth context without one): no identity", () => {
    expect(peerIdentity({})).toBeUndefined();
    expect(peerIdentity({ getAuthContext: () => ({}) })).toBeUndefined();
    expect(peerIdentity({ getAuthContext: () => null })).toBeUndefined();
    expect(peerIdentity({ getAuthContext: () => ({ sslPeerCertificate: { subject: { CN: "a" }, subjectaltname: "" } as never }) })).toBe("a");
  });

  test("views key on the certificate's identity when there is one, else the claimed node id", () => {
    expect(nodeIdentity({ id: "claimed", cluster: "", identity: "certified" })).toBe("certified");
    expect(nodeIdentity({ id: "claimed", cluster: "" })).toBe("claimed");
  });
});

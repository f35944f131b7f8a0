import { describe, expect, test } from "bun:test";
import { resourceTypes } from "./common.ts";
import { secret } from "./secret.ts";
import { expectEnvoyAccepts, testSecret } from "./testing.ts";

describe("secret", () => {
  test("a TLS secret is a certificate chain and key, inline", async () => {
    const source = testSecret("default/tls/abc");
    expect(await expectEnvoyAccepts(resourceTypes.secrets, secret(source))).toEqual({
      name: "default/tls/abc",
      tls_certificate: {
        certificate_chain: { inline_string: source.certificateChain },
        private_key: { inline_string: source.privateKey },
      },
    });
  });

  test("a CA secret is a validation context with trusted_ca; a CRL secret one with crl", async () => {
    const ca = testSecret("default/ca/abc", "ca");
    expect(await expectEnvoyAccepts(resourceTypes.secrets, secret(ca))).toEqual({
      name: "default/ca/abc",
      validation_context: { trusted_ca: { inline_string: ca.certificateChain } },
    });
    const crl = testSecret("default/crl/abc", "crl");
    expect(await expectEnvoyAccepts(resourceTypes.secrets, secret(crl))).toEqual({
      name: "default/crl/abc",
      validation_context: { crl: { inline_string: crl.certificateChain } },
    });
    const joined = { ...ca, name: "default/ca/abc+default/crl/abc", crl: crl.certificateChain };
    expect(await expectEnvoyAccepts(resourceTypes.secrets, secret(joined))).toEqual({
      name: "default/ca/abc+default/crl/abc",
      validation_context: { trusted_ca: { inline_string: ca.certificateChain }, crl: { inline_string: crl.certificateChain } },
    });
  });
});

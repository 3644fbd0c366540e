import { expect } from "chai";
import { checkFederatedAssertion, decodeJwt, JwtError, TokenSigner, unsignedJwt } from "../../../src/emulator/jwt.js";

describe("emulator JWT helpers", () => {
  const now = 1_800_000_000;

  it("signs and verifies its own tokens", () => {
    const s = new TokenSigner();
    const t = s.sign({ appid: "app-1", exp: now + 60 });
    expect(t.split(".")).to.have.length(3);
    expect(s.verify(t, now).appid).to.equal("app-1");
  });

  it("rejects expired, tampered, foreign and unsigned tokens", () => {
    const s = new TokenSigner();
    const t = s.sign({ appid: "app-1", exp: now + 60 });
    expect(() => s.verify(t, now + 60)).to.throw(JwtError, /expired/);
    const [h, , sig] = t.split(".");
    const forgedPayload = Buffer.from(JSON.stringify({ appid: "admin", exp: now + 60 })).toString("base64url");
    expect(() => s.verify(`${h}.${forgedPayload}.${sig}`, now)).to.throw(JwtError, /signature/);
    expect(() => new TokenSigner().verify(t, now)).to.throw(JwtError, /signature/);
    expect(() => s.verify(unsignedJwt({ appid: "x", exp: now + 60 }), now)).to.throw(JwtError, /not issued/);
  });

  it("decodes only well-formed compact JWTs", () => {
    expect(decodeJwt(unsignedJwt({ sub: "a" })).payload.sub).to.equal("a");
    expect(() => decodeJwt("a.b")).to.throw(JwtError, /three segments/);
    expect(() => decodeJwt("a+b.c.d")).to.throw(JwtError, /base64url/);
    expect(() => decodeJwt(`${Buffer.from("[1]").toString("base64url")}.e30.`)).to.throw(JwtError, /object/);
  });

  describe("checkFederatedAssertion", () => {
    const good = { iss: "https://kubernetes.default.svc", sub: "system:serviceaccount:default:demo-sa", aud: ["api://AzureADTokenExchange"], exp: now + 3600, iat: now };

    it("accepts a service-account token for the token-exchange audience", () => {
      const r = checkFederatedAssertion(unsignedJwt(good), now);
      expect(r.ok).to.equal(true);
      expect(r.payload?.sub).to.equal(good.sub);
      expect(checkFederatedAssertion(unsignedJwt({ ...good, aud: "api://AzureADTokenExchange" }), now).ok).to.equal(true);
    });

    it("gives AADSTS codes for malformed, expired, not-yet-valid and wrong-audience assertions", () => {
      expect(checkFederatedAssertion("garbage", now)).to.include({ ok: false, code: 50027 });
      expect(checkFederatedAssertion(unsignedJwt({ ...good, exp: now - 301 }), now)).to.include({ ok: false, code: 700024 });
      expect(checkFederatedAssertion(unsignedJwt({ ...good, exp: now - 100 }), now).ok).to.equal(true); // within skew
      expect(checkFederatedAssertion(unsignedJwt({ ...good, nbf: now + 600 }), now)).to.include({ ok: false, code: 700024 });
      const aud = checkFederatedAssertion(unsignedJwt({ ...good, aud: ["https://kubernetes.default.svc"] }), now);
      expect(aud).to.include({ ok: false, code: 700212 });
      expect(aud.description).to.contain("https://kubernetes.default.svc");
      expect(checkFederatedAssertion(unsignedJwt({ ...good, sub: "" }), now).ok).to.equal(false);
    });
  });
});

// PKCS#12 writer matching what Key Vault hands out for certificate-backed
// secrets: empty password, key in a pkcs8ShroudedKeyBag under
// pbeWithSHAAnd3-KeyTripleDES-CBC, SHA-1 HMAC, exactly two ContentInfos
// (Go's x/crypto/pkcs12 insists on that). forge's own writer only takes RSA
// keys, so the bags are assembled here for RSA and EC alike.
import { createHash, KeyObject } from "node:crypto";
import forge from "node-forge";
import { toDer } from "./x509.js";

const { asn1, pki } = forge;
const U = asn1.Class.UNIVERSAL;
const T = asn1.Type;
const CTX = asn1.Class.CONTEXT_SPECIFIC;

const oid = (o: string) => asn1.create(U, T.OID, false, asn1.oidToDer(o).getBytes());
const seq = (items: (forge.asn1.Asn1 | undefined)[]) => asn1.create(U, T.SEQUENCE, true, items.filter((x): x is forge.asn1.Asn1 => x !== undefined));
const bin = (b: Buffer) => b.toString("binary");

function dataContentInfo(content: forge.asn1.Asn1): forge.asn1.Asn1 {
  return seq([oid(pki.oids.data!), asn1.create(CTX, 0, true, [asn1.create(U, T.OCTETSTRING, false, asn1.toDer(content).getBytes())])]);
}

export interface PfxOptions {
  password?: string;
  iterations?: number;
}

/** Returns the DER of a PFX holding `key` and `certs` (leaf first). */
export function buildPfx(key: KeyObject, certs: Buffer[], opts: PfxOptions = {}): Buffer {
  const password = opts.password ?? "";
  const count = opts.iterations ?? 2048;
  const localKeyId = createHash("sha1").update(certs[0] ?? Buffer.alloc(0)).digest();
  const attrs = asn1.create(U, T.SET, true, [
    seq([oid(pki.oids.localKeyId!), asn1.create(U, T.SET, true, [asn1.create(U, T.OCTETSTRING, false, bin(localKeyId))])]),
  ]);
  const certBags = certs.map((der, i) =>
    seq([
      oid(pki.oids.certBag!),
      asn1.create(CTX, 0, true, [
        seq([oid(pki.oids.x509Certificate!), asn1.create(CTX, 0, true, [asn1.create(U, T.OCTETSTRING, false, bin(der))])]),
      ]),
      i === 0 ? attrs : undefined,
    ]),
  );
  const pkcs8 = asn1.fromDer(forge.util.createBuffer(bin(key.export({ type: "pkcs8", format: "der" }))));
  const shrouded = pki.encryptPrivateKeyInfo(pkcs8, password, { algorithm: "3des", count, saltSize: 8 });
  const keyBag = seq([oid(pki.oids.pkcs8ShroudedKeyBag!), asn1.create(CTX, 0, true, [shrouded]), attrs]);
  const authSafe = seq([dataContentInfo(seq(certBags)), dataContentInfo(seq([keyBag]))]);
  const authSafeDer = asn1.toDer(authSafe).getBytes();

  const salt = forge.random.getBytesSync(8);
  const macKey = forge.pkcs12.generateKey(password, forge.util.createBuffer(salt), 3, count, 20);
  const hmac = forge.hmac.create();
  hmac.start("sha1", macKey);
  hmac.update(authSafeDer);
  const macData = seq([
    seq([seq([oid(pki.oids.sha1!), asn1.create(U, T.NULL, false, "")]), asn1.create(U, T.OCTETSTRING, false, hmac.digest().getBytes())]),
    asn1.create(U, T.OCTETSTRING, false, salt),
    asn1.create(U, T.INTEGER, false, asn1.integerToDer(count).getBytes()),
  ]);
  const pfx = seq([
    asn1.create(U, T.INTEGER, false, asn1.integerToDer(3).getBytes()),
    seq([oid(pki.oids.data!), asn1.create(CTX, 0, true, [asn1.create(U, T.OCTETSTRING, false, authSafeDer)])]),
    macData,
  ]);
  return toDer(pfx);
}

// In-memory vault contents: every object keeps all its versions, oldest first,
// so "latest" is simply the last one created (as in Key Vault, where a
// disabled current version makes GET-latest fail rather than fall back).
import { createHash, createPublicKey, KeyObject, randomBytes } from "node:crypto";
import { buildPfx } from "./pfx.js";
import { Curve, derToPem, generateChain, generateKey, KeySpec, KeyType } from "./x509.js";

export type ObjectKind = "secrets" | "keys" | "certificates";

export interface Attributes {
  enabled: boolean;
  created: number;
  updated: number;
  nbf?: number;
  exp?: number;
}

export interface SecretVersion {
  version: string;
  value: string;
  contentType?: string;
  tags?: Record<string, string>;
  attributes: Attributes;
  /** Set when the secret backs a certificate. */
  kid?: string;
  managed?: boolean;
}

export interface JsonWebKey {
  kty: string;
  n?: string;
  e?: string;
  crv?: string;
  x?: string;
  y?: string;
  key_ops?: string[];
}

export interface KeyVersion {
  version: string;
  kty: KeyType;
  jwk: JsonWebKey;
  privateKey: KeyObject;
  tags?: Record<string, string>;
  attributes: Attributes;
  managed?: boolean;
}

export interface CertificateVersion {
  version: string;
  /** DER certificates, leaf first. */
  chain: Buffer[];
  keyType: KeyType;
  keySize?: number;
  crv?: Curve;
  contentType: string;
  subject: string;
  sans: string[];
  tags?: Record<string, string>;
  attributes: Attributes;
}

export interface Vault {
  name: string;
  secrets: Map<string, SecretVersion[]>;
  keys: Map<string, KeyVersion[]>;
  certificates: Map<string, CertificateVersion[]>;
  /** Client ids allowed to read; undefined lets every authenticated principal in. */
  allowedPrincipals?: Set<string>;
}

export interface SetSecretOptions {
  contentType?: string;
  enabled?: boolean;
  tags?: Record<string, string>;
  /** Epoch seconds; defaults to now. Lets tests order versions deterministically. */
  created?: number;
  nbf?: number;
  exp?: number;
  /** Mark the secret as a certificate's backing secret (kid = keys/<name>/<version>,
   * managed) without a certificate object: for hand-made PEM/PFX test content. */
  certificateBacked?: boolean;
}

export interface SetKeyOptions extends KeySpec {
  enabled?: boolean;
  tags?: Record<string, string>;
  created?: number;
}

export interface CreateCertificateOptions {
  keyType?: KeyType;
  size?: number;
  crv?: Curve;
  /** pfx → backing secret application/x-pkcs12; pem → application/x-pem-file. */
  format?: "pfx" | "pem";
  /** 1 self-signed, 2 root → leaf, 3 root → intermediate → leaf. */
  chain?: 1 | 2 | 3;
  subject?: string;
  sans?: string[];
  enabled?: boolean;
  tags?: Record<string, string>;
  created?: number;
  validityDays?: number;
}

export interface CreatedCertificate {
  version: string;
  /** PEM certificates, leaf first. */
  chainPem: string[];
  /** PKCS#8 PEM of the leaf key. */
  keyPem: string;
  /** The backing secret's value as stored (base64 PFX or PEM bundle). */
  secretValue: string;
  contentType: string;
  x5t: string;
}

export const PFX_CONTENT_TYPE = "application/x-pkcs12";
export const PEM_CONTENT_TYPE = "application/x-pem-file";

const now = () => Math.floor(Date.now() / 1000);

/** Key Vault versions are 32 lowercase hex characters. */
export function newVersion(): string {
  return randomBytes(16).toString("hex");
}

function attributes(enabled: boolean | undefined, created: number | undefined, nbf?: number, exp?: number): Attributes {
  const t = created ?? now();
  const a: Attributes = { enabled: enabled ?? true, created: t, updated: t };
  if (nbf !== undefined) a.nbf = nbf;
  if (exp !== undefined) a.exp = exp;
  return a;
}

function publicJwk(privateKey: KeyObject, kty: KeyType): JsonWebKey {
  const jwk = createPublicKey(privateKey).export({ format: "jwk" }) as JsonWebKey;
  const ops = kty === "RSA" ? ["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"] : ["sign", "verify"];
  return kty === "RSA" ? { kty: "RSA", key_ops: ops, n: jwk.n, e: jwk.e } : { kty: "EC", key_ops: ops, crv: jwk.crv, x: jwk.x, y: jwk.y };
}

export class EmulatorStore {
  private readonly vaults = new Map<string, Vault>();
  /** Called on every change; the emulator uses it for logging. */
  onChange?: (kind: ObjectKind, vault: string, name: string, version: string) => void;

  /** Vault names are case-insensitive DNS labels. */
  vault(name: string): Vault {
    const key = name.toLowerCase();
    let v = this.vaults.get(key);
    if (!v) {
      v = { name: key, secrets: new Map(), keys: new Map(), certificates: new Map() };
      this.vaults.set(key, v);
    }
    return v;
  }

  hasVault(name: string): boolean {
    return this.vaults.has(name.toLowerCase());
  }

  vaultNames(): string[] {
    return [...this.vaults.keys()];
  }

  /** Restricts reads in a vault to these client ids (an access policy stand-in). */
  setAccess(vault: string, clientIds: string[] | undefined): void {
    this.vault(vault).allowedPrincipals = clientIds ? new Set(clientIds.map((c) => c.toLowerCase())) : undefined;
  }

  setSecret(vault: string, name: string, value: string, opts: SetSecretOptions & { kid?: string; managed?: boolean } = {}): { version: string } {
    const version = newVersion();
    const v: SecretVersion = { version, value, attributes: attributes(opts.enabled, opts.created, opts.nbf, opts.exp) };
    if (opts.contentType !== undefined) v.contentType = opts.contentType;
    if (opts.tags) v.tags = { ...opts.tags };
    if (opts.kid) v.kid = opts.kid;
    if (opts.managed) v.managed = true;
    if (opts.certificateBacked) {
      v.kid = `keys/${name}/${version}`;
      v.managed = true;
    }
    push(this.vault(vault).secrets, name, v);
    this.onChange?.("secrets", vault, name, version);
    return { version };
  }

  async setKey(vault: string, name: string, opts: SetKeyOptions): Promise<{ version: string; jwk: JsonWebKey }> {
    const { privateKey } = await generateKey(opts);
    return this.importKey(vault, name, privateKey, opts);
  }

  importKey(
    vault: string,
    name: string,
    privateKey: KeyObject,
    opts: { enabled?: boolean; tags?: Record<string, string>; created?: number; managed?: boolean; version?: string } = {},
  ): { version: string; jwk: JsonWebKey } {
    const kty: KeyType = privateKey.asymmetricKeyType === "rsa" ? "RSA" : "EC";
    if (privateKey.asymmetricKeyType !== "rsa" && privateKey.asymmetricKeyType !== "ec") {
      throw new Error(`unsupported key type ${String(privateKey.asymmetricKeyType)}`);
    }
    const version = opts.version ?? newVersion();
    const kv: KeyVersion = { version, kty, jwk: publicJwk(privateKey, kty), privateKey, attributes: attributes(opts.enabled, opts.created) };
    if (opts.tags) kv.tags = { ...opts.tags };
    if (opts.managed) kv.managed = true;
    push(this.vault(vault).keys, name, kv);
    this.onChange?.("keys", vault, name, version);
    return { version, jwk: kv.jwk };
  }

  /** Creates a certificate version the way Key Vault does: one version id shared
   * by the certificate, its backing key and its backing secret. */
  async createCertificate(vault: string, name: string, opts: CreateCertificateOptions = {}): Promise<CreatedCertificate> {
    const keyType = opts.keyType ?? "RSA";
    const spec: KeySpec = keyType === "RSA" ? { kty: "RSA", size: opts.size ?? 2048 } : { kty: "EC", crv: opts.crv ?? "P-256" };
    const subject = opts.subject ?? `${name}.${vault}.local`;
    const gen = await generateChain({ key: spec, chain: opts.chain ?? 1, subject, sans: opts.sans, validityDays: opts.validityDays });
    const version = newVersion();
    const created = opts.created ?? now();
    const format = opts.format ?? "pfx";
    const keyPem = gen.key.export({ type: "pkcs8", format: "pem" }) as string;
    const chainPem = gen.certs.map((d) => derToPem(d));
    const contentType = format === "pem" ? PEM_CONTENT_TYPE : PFX_CONTENT_TYPE;
    const secretValue = format === "pem" ? keyPem + chainPem.join("") : buildPfx(gen.key, gen.certs).toString("base64");
    const leafDer = gen.certs[0]!;
    const validFrom = Math.floor(Date.now() / 1000) - 300;
    const validTo = validFrom + 300 + (opts.validityDays ?? 365) * 86400;
    const cert: CertificateVersion = {
      version, chain: gen.certs, keyType, contentType, subject, sans: opts.sans ?? [subject],
      attributes: { enabled: opts.enabled ?? true, created, updated: created, nbf: validFrom, exp: validTo },
    };
    if (keyType === "RSA") cert.keySize = spec.size;
    else cert.crv = spec.crv;
    if (opts.tags) cert.tags = { ...opts.tags };
    const v = this.vault(vault);
    push(v.certificates, name, cert);
    this.importKey(vault, name, gen.key, { enabled: opts.enabled, created, managed: true, version });
    const secret: SecretVersion = {
      version, value: secretValue, contentType, managed: true, kid: `keys/${name}/${version}`,
      attributes: { enabled: opts.enabled ?? true, created, updated: created, nbf: validFrom, exp: validTo },
    };
    push(v.secrets, name, secret);
    this.onChange?.("certificates", vault, name, version);
    return { version, chainPem, keyPem, secretValue, contentType, x5t: x5t(leafDer) };
  }

  /** Enables or disables one version (or, with no version, the latest). For a
   * certificate the backing key and secret follow, as in Key Vault. */
  setEnabled(vault: string, kind: ObjectKind, name: string, version: string | undefined, enabled: boolean): boolean {
    const v = this.vault(vault);
    const found = this.find(vault, kind, name, version);
    if (!found) return false;
    const ver = found.version;
    const touch = (a: Attributes) => {
      a.enabled = enabled;
      a.updated = now();
    };
    touch(found.attributes);
    if (kind === "certificates") {
      for (const m of [v.keys.get(name), v.secrets.get(name)]) {
        const o = m?.find((x) => x.version === ver);
        if (o) touch(o.attributes);
      }
    }
    return true;
  }

  disableVersion(vault: string, kind: ObjectKind, name: string, version?: string): boolean {
    return this.setEnabled(vault, kind, name, version, false);
  }

  /** Removes an object and all its versions (no soft-delete). */
  deleteObject(vault: string, kind: ObjectKind, name: string): boolean {
    return this.vault(vault)[kind].delete(name);
  }

  find(vault: string, kind: "secrets", name: string, version?: string): SecretVersion | undefined;
  find(vault: string, kind: "keys", name: string, version?: string): KeyVersion | undefined;
  find(vault: string, kind: "certificates", name: string, version?: string): CertificateVersion | undefined;
  find(vault: string, kind: ObjectKind, name: string, version?: string): SecretVersion | KeyVersion | CertificateVersion | undefined;
  find(vault: string, kind: ObjectKind, name: string, version?: string): SecretVersion | KeyVersion | CertificateVersion | undefined {
    if (!this.hasVault(vault)) return undefined;
    const list = (this.vault(vault)[kind] as Map<string, { version: string }[]>).get(name) as (SecretVersion | KeyVersion | CertificateVersion)[] | undefined;
    if (!list?.length) return undefined;
    if (!version) return list[list.length - 1];
    return list.find((x) => x.version === version.toLowerCase());
  }

  /** Versions oldest first. */
  versions(vault: string, kind: ObjectKind, name: string): (SecretVersion | KeyVersion | CertificateVersion)[] {
    if (!this.hasVault(vault)) return [];
    return [...((this.vault(vault)[kind] as Map<string, (SecretVersion | KeyVersion | CertificateVersion)[]>).get(name) ?? [])];
  }

  names(vault: string, kind: ObjectKind): string[] {
    if (!this.hasVault(vault)) return [];
    return [...this.vault(vault)[kind].keys()].sort();
  }

  getSecretValue(vault: string, name: string, version?: string): string | undefined {
    return this.find(vault, "secrets", name, version)?.value;
  }

  latestVersion(vault: string, kind: ObjectKind, name: string): string | undefined {
    return this.find(vault, kind, name)?.version;
  }
}

function push<T>(m: Map<string, T[]>, name: string, v: T): void {
  const list = m.get(name);
  if (list) list.push(v);
  else m.set(name, [v]);
}

/** base64url SHA-1 thumbprint of a DER certificate. */
export function x5t(der: Buffer): string {
  return createHash("sha1").update(der).digest("base64url");
}

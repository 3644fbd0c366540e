// Runs the real Azure SDK against the emulator in its own process, because
// NODE_EXTRA_CA_CERTS and the proxy variables are read only at start-up.
// argv[2] is a JSON array of runs ({cred, ops}); stdout gets one JSON array of
// per-op results. Secret values are printed only because the parent test
// compares them with the emulator's (never a real secret).
import { ClientAssertionCredential, ClientSecretCredential, ManagedIdentityCredential, TokenCredential } from "@azure/identity";
import { CertificateClient } from "@azure/keyvault-certificates";
import { KeyClient } from "@azure/keyvault-keys";
import { SecretClient } from "@azure/keyvault-secrets";

export type ClientCred =
  | { kind: "secret"; clientId: string; clientSecret: string }
  | { kind: "assertion"; clientId: string; assertion: string }
  | { kind: "mi"; clientId?: string };

export type ClientOp =
  | { op: "getSecret"; name: string; version?: string }
  | { op: "setSecret"; name: string; value: string }
  | { op: "listSecretVersions"; name: string; pageSize: number }
  | { op: "getKey"; name: string; version?: string }
  | { op: "getCertificate"; name: string }
  | { op: "createCertificate"; name: string; subject: string }
  | { op: "getToken"; scope: string }
  | { op: "fault"; rule: unknown };

export interface ClientRun {
  cred: ClientCred;
  ops: ClientOp[];
}

export interface ClientSpec {
  vaultUrl: string;
  tenantId: string;
  authorityHost: string;
  adminUrl: string;
  runs: ClientRun[];
}

export type OpResult = { ok: true; result: Record<string, unknown> } | { ok: false; error: { name: string; message: string; statusCode?: number; code?: string } };

function credential(spec: ClientSpec, c: ClientCred): TokenCredential {
  const opts = { authorityHost: spec.authorityHost, disableInstanceDiscovery: true };
  switch (c.kind) {
    case "secret":
      return new ClientSecretCredential(spec.tenantId, c.clientId, c.clientSecret, opts);
    case "assertion":
      return new ClientAssertionCredential(spec.tenantId, c.clientId, () => Promise.resolve(c.assertion), opts);
    case "mi":
      return c.clientId ? new ManagedIdentityCredential({ clientId: c.clientId }) : new ManagedIdentityCredential();
  }
}


async function runOp(spec: ClientSpec, cred: TokenCredential, clients: { secrets: SecretClient; keys: KeyClient; certs: CertificateClient }, op: ClientOp): Promise<Record<string, unknown>> {
  switch (op.op) {
    case "getSecret": {
      const s = await clients.secrets.getSecret(op.name, { version: op.version });
      return { value: s.value, version: s.properties.version, contentType: s.properties.contentType, keyId: s.properties.certificateKeyId, managed: s.properties.managed, id: s.properties.id };
    }
    case "setSecret": {
      const s = await clients.secrets.setSecret(op.name, op.value);
      return { version: s.properties.version };
    }
    case "listSecretVersions": {
      let pages = 0;
      const versions: string[] = [];
      for await (const page of clients.secrets.listPropertiesOfSecretVersions(op.name).byPage({ maxPageSize: op.pageSize })) {
        pages++;
        for (const p of page) versions.push(p.version ?? "");
        if (pages > 50) throw new Error("too many pages");
      }
      return { pages, versions };
    }
    case "getKey": {
      const k = await clients.keys.getKey(op.name, { version: op.version });
      const jwk = k.key!;
      const b64 = (u?: Uint8Array) => (u ? Buffer.from(u).toString("base64url") : undefined);
      return { kty: k.keyType, version: k.properties.version, kid: jwk.kid, n: b64(jwk.n), e: b64(jwk.e), crv: jwk.crv, x: b64(jwk.x), y: b64(jwk.y), keyOps: k.keyOperations };
    }
    case "getCertificate": {
      const c = await clients.certs.getCertificate(op.name);
      return {
        version: c.properties.version, cer: Buffer.from(c.cer!).toString("base64"), keyId: c.keyId, secretId: c.secretId,
        x5t: c.properties.x509Thumbprint ? Buffer.from(c.properties.x509Thumbprint).toString("base64url") : undefined,
        contentType: c.policy?.contentType, subject: c.policy?.subject,
      };
    }
    case "createCertificate": {
      const poller = await clients.certs.beginCreateCertificate(op.name, { issuerName: "Self", subject: op.subject }, { intervalInMs: 50 });
      const c = await poller.pollUntilDone();
      return { version: c.properties.version, name: c.name };
    }
    case "getToken": {
      const t = await cred.getToken(op.scope);
      return { expiresOnTimestamp: t?.expiresOnTimestamp, tokenType: t?.tokenType };
    }
    case "fault": {
      const r = await fetch(`${spec.adminUrl}/_emulator/faults`, { method: "POST", body: JSON.stringify(op.rule), headers: { "content-type": "application/json" } });
      return { status: r.status };
    }
  }
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? "{}") as ClientSpec;
  const results: OpResult[][] = [];
  for (const run of spec.runs) {
    const cred = credential(spec, run.cred);
    const clients = {
      secrets: new SecretClient(spec.vaultUrl, cred),
      keys: new KeyClient(spec.vaultUrl, cred),
      certs: new CertificateClient(spec.vaultUrl, cred),
    };
    const out: OpResult[] = [];
    for (const op of run.ops) {
      try {
        out.push({ ok: true, result: await runOp(spec, cred, clients, op) });
      } catch (e) {
        const err = e as { name?: string; message?: string; statusCode?: number; code?: string };
        out.push({ ok: false, error: { name: err.name ?? "Error", message: String(err.message ?? e), statusCode: err.statusCode, code: err.code } });
      }
    }
    results.push(out);
  }
  process.stdout.write(JSON.stringify(results) + "\n");
}

main().catch((e: unknown) => {
  process.stderr.write(`emulator-client failed: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});

// `npm start` must keep working: run the demo as a user would and check what
// it shows (and that it never prints a secret value).
import { expect } from "chai";
import { spawnAkv } from "../helpers/akv-process.js";
import { DEMO_SECRET_VALUE } from "../../src/emulator/seed.js";

describe("integration: akv-csi demo (npm start)", function () {
  this.timeout(180_000);

  it("mounts, rotates and unmounts through the real provider and driver, exit 0", async () => {
    const p = spawnAkv(["demo"]);
    const code = await new Promise<number | null>((r) => p.proc.once("exit", r));
    const out = p.output();
    expect(code, out).to.equal(0);
    expect(out).to.contain("kubelet → GetPluginInfo        secrets-store.csi.k8s.io v1.6.0");
    expect(out).to.contain("kubelet → Probe                ready=true");
    expect(out).to.match(/db-password +rw-r--r-- +\d+ B +sha256:[0-9a-f]{12} +\(value hidden\)/);
    expect(out).to.match(/signing-key .* -----BEGIN PUBLIC KEY-----/);
    expect(out).to.match(/web-tls .* -----BEGIN CERTIFICATE-----/);
    expect(out).to.match(/\.\.data -> \.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\.\d+/);
    expect(out).to.contain("SecretProviderClassPodStatus default/demo-app-default-demo-kv");
    expect(out).to.match(/secret\/db-password +version [0-9a-f]{32}/);
    expect(out).to.contain("Key Vault GETs so far: 3");
    expect(out).to.match(/db-password .*← changed/);
    expect(out).not.to.match(/signing-key .*← changed/);
    expect(out).to.contain("nothing left: no mount, no directory");
    expect(out).to.contain(process.getuid?.() === 0 ? "real tmpfs mounts" : "plain directories");
    expect(out).not.to.contain(DEMO_SECRET_VALUE);
  });
});

// Who may get a token: app registrations (client secret and/or federated
// credentials), managed identities (IMDS) and pod-identity bindings (NMI).
// Client secrets are compared in constant time and never logged.
import { createHash, timingSafeEqual } from "node:crypto";

export interface AppRegistration {
  clientId: string;
  clientSecret?: string;
  /** Federated credential subjects, e.g. `system:serviceaccount:default:demo-sa`.
   * When undefined any well-formed assertion is accepted for this app. */
  federatedSubjects?: string[];
  objectId?: string;
  displayName?: string;
}

export interface ManagedIdentity {
  clientId: string;
  objectId?: string;
  /** ARM resource id, matched by IMDS `msi_res_id` / `mi_res_id`. */
  resourceId?: string;
  /** The VM's system-assigned identity, used when IMDS gets no selector. */
  systemAssigned?: boolean;
}

export interface PodIdentityBinding {
  namespace: string;
  /** Exact pod name; `*` or absent binds every pod of the namespace. */
  podName?: string;
  clientId: string;
}

export interface Principal {
  clientId: string;
  objectId: string;
  kind: "app" | "managedIdentity" | "podIdentity";
}

/** Deterministic GUID-shaped id from a seed, for object ids nobody configured. */
export function guidFrom(seed: string): string {
  const h = createHash("sha256").update(seed).digest("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function sameSecret(a: string, b: string): boolean {
  const ha = createHash("sha256").update(a).digest();
  const hb = createHash("sha256").update(b).digest();
  return timingSafeEqual(ha, hb);
}

export class IdentityRegistry {
  private readonly apps = new Map<string, AppRegistration>();
  private readonly mis: ManagedIdentity[] = [];
  private readonly pods: PodIdentityBinding[] = [];

  addApp(app: AppRegistration): void {
    this.apps.set(app.clientId.toLowerCase(), { ...app, federatedSubjects: app.federatedSubjects ? [...app.federatedSubjects] : undefined });
  }

  /** Adds a federated credential subject to an existing app (creating it if needed). */
  addFederatedSubject(clientId: string, subject: string): void {
    const app = this.apps.get(clientId.toLowerCase()) ?? { clientId };
    app.federatedSubjects = [...(app.federatedSubjects ?? []), subject];
    this.apps.set(clientId.toLowerCase(), app);
  }

  addManagedIdentity(mi: ManagedIdentity): void {
    if (mi.systemAssigned) for (const m of this.mis) m.systemAssigned = false;
    this.mis.push({ ...mi });
  }

  addPodIdentity(b: PodIdentityBinding): void {
    this.pods.push({ ...b });
  }

  app(clientId: string): AppRegistration | undefined {
    return this.apps.get(clientId.toLowerCase());
  }

  appPrincipal(app: AppRegistration): Principal {
    return { clientId: app.clientId, objectId: app.objectId ?? guidFrom(`app:${app.clientId}`), kind: "app" };
  }

  checkClientSecret(app: AppRegistration, secret: string): boolean {
    return app.clientSecret !== undefined && sameSecret(app.clientSecret, secret);
  }

  /** undefined subjects mean "any": see AppRegistration.federatedSubjects. */
  federatedSubjectAllowed(app: AppRegistration, subject: string): boolean {
    return app.federatedSubjects === undefined || app.federatedSubjects.includes(subject);
  }

  /** IMDS selection: client_id, object_id, or resource id; else the system-assigned one. */
  managedIdentity(sel: { clientId?: string; objectId?: string; resourceId?: string }): Principal | undefined {
    const lc = (s?: string) => s?.toLowerCase();
    let mi: ManagedIdentity | undefined;
    if (sel.clientId) mi = this.mis.find((m) => lc(m.clientId) === lc(sel.clientId));
    else if (sel.objectId) mi = this.mis.find((m) => lc(m.objectId ?? guidFrom(`mi:${m.clientId}`)) === lc(sel.objectId));
    else if (sel.resourceId) mi = this.mis.find((m) => lc(m.resourceId) === lc(sel.resourceId));
    else mi = this.mis.find((m) => m.systemAssigned);
    if (!mi) return undefined;
    return { clientId: mi.clientId, objectId: mi.objectId ?? guidFrom(`mi:${mi.clientId}`), kind: "managedIdentity" };
  }

  podIdentity(namespace: string, podName: string): Principal | undefined {
    const b =
      this.pods.find((p) => p.namespace === namespace && p.podName === podName) ??
      this.pods.find((p) => p.namespace === namespace && (p.podName === undefined || p.podName === "*"));
    if (!b) return undefined;
    return { clientId: b.clientId, objectId: guidFrom(`pod:${b.clientId}`), kind: "podIdentity" };
  }
}

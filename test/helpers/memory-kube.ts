// An in-memory KubeApi for driver tests that do not need HTTP: objects by
// path, 404/409 errors shaped like the real client's (`status`).
import type { KubeApi } from "../../src/driver/kube.js";

export class MemoryKube implements KubeApi {
  readonly objects = new Map<string, unknown>();
  readonly calls: string[] = [];
  failAll?: Error;

  private err(status: number, message: string): Error {
    return Object.assign(new Error(message), { status });
  }

  async get<T>(path: string): Promise<T> {
    this.calls.push(`GET ${path}`);
    if (this.failAll) throw this.failAll;
    const o = this.objects.get(path);
    if (o === undefined) throw this.err(404, `not found: ${path}`);
    return structuredClone(o) as T;
  }

  async create<T>(path: string, body: unknown): Promise<T> {
    this.calls.push(`POST ${path}`);
    if (this.failAll) throw this.failAll;
    const name = (body as { metadata: { name: string } }).metadata.name;
    const full = `${path}/${name}`;
    if (this.objects.has(full)) throw this.err(409, `already exists: ${full}`);
    this.objects.set(full, structuredClone(body));
    return body as T;
  }

  async update<T>(path: string, body: unknown): Promise<T> {
    this.calls.push(`PUT ${path}`);
    if (this.failAll) throw this.failAll;
    if (!this.objects.has(path)) throw this.err(404, `not found: ${path}`);
    this.objects.set(path, structuredClone(body));
    return body as T;
  }
}

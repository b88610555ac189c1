import { currentSession, signOut } from './auth';

/** An answer of the API other than 2xx: its status, error code and the message meant for people. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }

  /**
   * The messages per field of a workflow error ("invalid workflow: params.epochs: ...; labels: ..."),
   * so the form shows each one at its field.
   */
  fields(): Record<string, string> {
    const out: Record<string, string> = {};
    const text = this.message.replace(/^invalid workflow: /, '');
    for (const part of text.split('; ')) {
      const m = /^([A-Za-z_][\w.[\]]*): (.*)$/s.exec(part);
      if (m) out[m[1]] = m[2];
    }
    return out;
  }
}

async function call(path: string, init: RequestInit = {}): Promise<Response> {
  const s = currentSession();
  const res = await fetch(path, {
    ...init,
    headers: {
      ...(s ? { authorization: `Bearer ${s.token}` } : {}),
      ...(init.body && typeof init.body === 'string' ? { 'content-type': 'application/json' } : {}),
      ...init.headers,
    },
  });
  if (res.ok) return res;
  let code = 'Error';
  let message = `${res.status} ${res.statusText}`;
  try {
    const b = (await res.json()) as { error?: string; message?: string };
    code = b.error ?? code;
    message = b.message ?? message;
  } catch {
    // not JSON: the status line says enough
  }
  // an expired token: back to the sign-in page rather than an error on every panel
  if (res.status === 401) signOut(null);
  throw new ApiError(res.status, code, message);
}

export async function get<T>(path: string): Promise<T> {
  return (await call(path)).json() as Promise<T>;
}

export async function text(path: string): Promise<string> {
  return (await call(path)).text();
}

export async function blob(path: string): Promise<Blob> {
  return (await call(path)).blob();
}

export async function send<T>(method: 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
  const res = await call(path, { method, body: body === undefined ? undefined : JSON.stringify(body) });
  return (res.status === 204 ? undefined : await res.json()) as T;
}

export const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e));

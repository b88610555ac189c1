import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { errorText } from './api';

/** Loads once (and again on `reload`); `every` ms polls while `keepPolling` says so. */
export function useLoad<T>(
  load: () => Promise<T>,
  deps: unknown[],
  poll?: { every: number; while: (v: T | undefined) => boolean },
) {
  const [value, setValue] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const latest = useRef(value);
  latest.current = value;
  const reload = useCallback(async () => {
    try {
      const v = await load();
      setValue(v);
      setError(undefined);
      return v;
    } catch (e) {
      setError(errorText(e));
      return undefined;
    }
  }, deps);
  useEffect(() => {
    let stop = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      const v = await reload();
      if (!stop && poll && poll.while(v ?? latest.current)) timer = setTimeout(tick, poll.every);
    };
    void tick();
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, [reload]);
  return { value, error, reload };
}

export function ErrorBox({ error }: { error?: string }) {
  if (!error) return null;
  return (
    <p class="error" role="alert">
      <strong>Error:</strong> {error}
    </p>
  );
}

/** A job status in words and a symbol, never colour alone. */
export function StatusBadge({ status }: { status: string }) {
  const sym: Record<string, string> = {
    queued: '…',
    running: '▶',
    succeeded: '✓',
    failed: '✗',
    cancelled: '■',
    interrupted: '⏸',
  };
  return (
    <span class={`status status-${status}`}>
      <span aria-hidden="true">{sym[status] ?? '?'}</span> {status}
    </span>
  );
}

export function Page({ title, children }: { title: string; children: ComponentChildren }) {
  useEffect(() => {
    document.title = `${title} · mlaas4hep`;
  }, [title]);
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title" tabIndex={-1}>
        {title}
      </h1>
      {children}
    </section>
  );
}

export const when = (iso?: string): string => (iso ? new Date(iso).toLocaleString() : '—');

export const fmt = (x: unknown, digits = 4): string =>
  typeof x === 'number'
    ? Number.isInteger(x)
      ? String(x)
      : x.toFixed(digits)
    : x === undefined
      ? '—'
      : String(x);

/** An SVG plot fetched with the token (the API wants it) and shown from a blob: URL. */
export function AuthImage({
  src,
  alt,
  load,
}: {
  src: string;
  alt: string;
  load: (p: string) => Promise<Blob>;
}) {
  const [url, setUrl] = useState<string>();
  const [error, setError] = useState<string>();
  useEffect(() => {
    let u: string | undefined;
    load(src)
      .then((b) => {
        u = URL.createObjectURL(b);
        setUrl(u);
      })
      .catch((e) => setError(errorText(e)));
    return () => {
      if (u) URL.revokeObjectURL(u);
    };
  }, [src]);
  if (error)
    return (
      <p class="muted">
        {alt}: {error}
      </p>
    );
  return url ? <img src={url} alt={alt} class="plot" /> : <p class="muted">loading {alt}…</p>;
}

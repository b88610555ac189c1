import { useState } from 'preact/hooks';
import { errorText, send } from '../api';
import { Page } from '../ui';

interface Ticket {
  url: string;
  key: string;
  source: string;
}

interface Upload {
  name: string;
  bytes: number;
  sent: number;
  state: 'asking' | 'uploading' | 'done' | 'failed';
  message?: string;
  source?: string;
}

/** PUT with progress events (fetch has none for uploads); Content-Length is the browser's, as signed. */
function put(url: string, file: File, progress: (sent: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', url);
    xhr.upload.onprogress = (e) => progress(e.loaded);
    xhr.onload = () =>
      xhr.status < 300
        ? resolve()
        : reject(new Error(`the bucket answered ${xhr.status}: ${xhr.responseText.slice(0, 200)}`));
    xhr.onerror = () => reject(new Error('the upload could not reach the bucket (network or CORS)'));
    xhr.send(file);
  });
}

export function UploadPage() {
  const [area, setArea] = useState<'data' | 'incoming'>('data');
  const [uploads, setUploads] = useState<Upload[]>([]);
  const [over, setOver] = useState(false);
  const update = (i: number, patch: Partial<Upload>) =>
    setUploads((all) => all.map((u, j) => (j === i ? { ...u, ...patch } : u)));

  const start = async (files: File[]) => {
    const base = uploads.length;
    setUploads((all) => [
      ...all,
      ...files.map((f) => ({ name: f.name, bytes: f.size, sent: 0, state: 'asking' as const })),
    ]);
    await Promise.all(
      files.map(async (f, k) => {
        const i = base + k;
        try {
          if (!f.name.endsWith('.root')) throw new Error('only .root files are uploaded');
          const t = await send<Ticket>('POST', '/data/uploads', { area, name: f.name, bytes: f.size });
          update(i, { state: 'uploading', source: t.source });
          await put(t.url, f, (sent) => update(i, { sent }));
          update(i, { state: 'done', sent: f.size });
        } catch (e) {
          update(i, { state: 'failed', message: errorText(e) });
        }
      }),
    );
  };

  return (
    <Page title="Upload data">
      <p>
        ROOT files go to your own folder of the bucket, straight from this browser (a presigned URL for each
        file, valid for that size only). Files under <code>incoming/</code> start the upload triggers that
        cover them.
      </p>
      <fieldset>
        <legend>Destination</legend>
        <label>
          <input type="radio" name="area" checked={area === 'data'} onChange={() => setArea('data')} /> data/
          (for training jobs)
        </label>
        <label>
          <input
            type="radio"
            name="area"
            checked={area === 'incoming'}
            onChange={() => setArea('incoming')}
          />{' '}
          incoming/ (fires upload triggers)
        </label>
      </fieldset>
      {/* biome-ignore lint/a11y/noStaticElementInteractions: a drop target for the mouse; the file input inside is the keyboard's way */}
      <div
        class={`dropzone${over ? ' over' : ''}`}
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => {
          e.preventDefault();
          setOver(false);
          void start([...(e.dataTransfer?.files ?? [])]);
        }}
      >
        <p>Drop .root files here, or</p>
        <label for="pick" class="button">
          choose files
        </label>
        <input
          id="pick"
          class="sr-only"
          type="file"
          accept=".root"
          multiple
          onChange={(e) => {
            void start([...(e.currentTarget.files ?? [])]);
            e.currentTarget.value = '';
          }}
        />
      </div>
      {uploads.length > 0 && (
        <ul class="uploads" aria-live="polite">
          {uploads.map((u) => (
            <li key={u.name} data-state={u.state}>
              <span>{u.name}</span>{' '}
              <progress max={u.bytes} value={u.sent} aria-label={`${u.name} upload progress`} />{' '}
              <span>
                {u.state === 'done'
                  ? `✓ uploaded as ${u.source}`
                  : u.state === 'failed'
                    ? `✗ ${u.message}`
                    : `${Math.round((100 * u.sent) / Math.max(u.bytes, 1))}%`}
              </span>
            </li>
          ))}
        </ul>
      )}
      <p>
        <a href="#/new">Train on them: new job</a>
      </p>
    </Page>
  );
}

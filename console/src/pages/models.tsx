import { useState } from 'preact/hooks';
import { blob, errorText, get, send } from '../api';
import { currentSession } from '../auth';
import type { ModelDescription, ModelEntry } from '../types';
import { AuthImage, ErrorBox, fmt, Page, useLoad, when } from '../ui';

export const testMetrics = (d: ModelDescription): Record<string, unknown> =>
  ((d.metrics as { test?: Record<string, unknown> }).test ?? {}) as Record<string, unknown>;

export function ModelsList() {
  const models = useLoad(() => get<ModelEntry[]>('/models'), []);
  return (
    <Page title="Models">
      <ErrorBox error={models.error} />
      {models.value?.length === 0 && <p>No models yet: a finished training job publishes one.</p>}
      {models.value && models.value.length > 0 && (
        <div class="table-wrap">
          <table>
            <caption class="sr-only">Models in the registry, latest versions</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Latest version</th>
                <th scope="col">Owner</th>
                <th scope="col">Test AUC</th>
                <th scope="col">Formats</th>
                <th scope="col">Published</th>
              </tr>
            </thead>
            <tbody>
              {models.value.map((m) => (
                <tr key={m.name}>
                  <td>
                    <a href={`#/models/${encodeURIComponent(m.name)}`}>{m.name}</a>
                  </td>
                  <td>{m.version ?? '—'}</td>
                  <td>{m.owner ? `${m.owner}${m.ownerGroup ? ` (group ${m.ownerGroup})` : ''}` : '—'}</td>
                  <td>{fmt((m.metrics as { auc?: number } | undefined)?.auc)}</td>
                  <td>{((m.formats as string[] | undefined) ?? []).join(', ')}</td>
                  <td>{when(m.timestamp)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Page>
  );
}

/** CSV with a header row of feature names; one event per line. */
function parseCsv(text: string): { keys: string[]; values: number[][] } {
  const lines = text.trim().split(/\r?\n/).filter(Boolean);
  const keys = lines[0].split(',').map((s) => s.trim());
  const values = lines.slice(1).map((l) => l.split(',').map((s) => Number(s.trim())));
  return { keys, values };
}

function TryIt({ d }: { d: ModelDescription }) {
  const [row, setRow] = useState<Record<string, string>>({});
  const [csv, setCsv] = useState('');
  const [answer, setAnswer] = useState<unknown>();
  const [error, setError] = useState<string>();
  const body = (): Record<string, unknown> => {
    if (csv.trim()) return { model: d.name, version: d.version, ...parseCsv(csv) };
    return {
      model: d.name,
      version: d.version,
      keys: d.features,
      values: d.features.map((f) => Number(row[f] ?? 0)),
    };
  };
  const predict = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    try {
      setAnswer(await send('POST', '/json', body()));
    } catch (err) {
      setError(errorText(err));
    }
  };
  const b = body();
  const origin = location.origin;
  // the Open Inference Protocol's own description of the model's inputs (names, types, shapes)
  const meta = useLoad(
    () =>
      get<{ inputs?: Array<{ name: string; datatype: string; shape: number[] }> }>(
        `/v2/models/${encodeURIComponent(d.name)}`,
      ),
    [d.name],
  );
  const input = meta.value?.inputs?.[0];
  const v2 = {
    inputs: [
      {
        name: input?.name ?? 'input',
        shape: [1, d.features.length],
        datatype: input?.datatype ?? 'FP32',
        data: d.features.map((f) => Number(row[f] ?? 0)),
      },
    ],
  };
  return (
    <section aria-labelledby="try-h">
      <h2 id="try-h">Try it</h2>
      <form onSubmit={predict}>
        <div class="grid">
          {d.features.map((f, i) => (
            <div class="field" key={f}>
              <label for={`feat-${i}`}>{f}</label>
              <input
                id={`feat-${i}`}
                type="number"
                step="any"
                placeholder="0"
                value={row[f] ?? ''}
                onInput={(e) => setRow({ ...row, [f]: e.currentTarget.value })}
              />
            </div>
          ))}
        </div>
        <div class="field">
          <label for="csv">or paste a small CSV (header: feature names; one event per line)</label>
          <textarea
            id="csv"
            rows={4}
            value={csv}
            onInput={(e) => setCsv(e.currentTarget.value)}
            onDragOver={(e) => e.preventDefault()}
            onDrop={async (e) => {
              e.preventDefault();
              const f = e.dataTransfer?.files[0];
              if (f) setCsv(await f.text());
            }}
          />
        </div>
        <button type="submit" class="primary">
          Predict
        </button>
      </form>
      <ErrorBox error={error} />
      {answer !== undefined && (
        <p>
          Scores{d.classes.length ? ` (classes ${d.classes.join(', ')})` : ''}:{' '}
          <output data-testid="scores">{JSON.stringify(answer)}</output>
        </p>
      )}
      <h3>The same with curl</h3>
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard (axe: scrollable-region-focusable) */}
      <pre class="json" tabIndex={0}>
        {`curl -s -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \\\n  -d '${JSON.stringify(b)}' ${origin}/json`}
      </pre>
      <h3>Open Inference Protocol v2</h3>
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard (axe: scrollable-region-focusable) */}
      <pre class="json" tabIndex={0}>
        {`curl -s -H "Authorization: Bearer $TOKEN" ${origin}/v2/models/${d.name}\n# its inputs: ${JSON.stringify(meta.value?.inputs ?? [])}\ncurl -s -H "Authorization: Bearer $TOKEN" -H 'content-type: application/json' \\\n  -d '${JSON.stringify(v2)}' ${origin}/v2/models/${d.name}/versions/${d.version}/infer`}
      </pre>
    </section>
  );
}

export function ModelPage({ name, version }: { name: string; version?: string }) {
  const q = version ? `?version=${encodeURIComponent(version)}` : '';
  const d = useLoad(() => get<ModelDescription>(`/models/${encodeURIComponent(name)}${q}`), [name, version]);
  const [deleted, setDeleted] = useState<string>();
  const [error, setError] = useState<string>();
  const admin = currentSession()?.scopes.has('admin');
  const m = d.value;
  const del = async (v?: string) => {
    if (!confirm(v ? `Delete version ${v} of ${name}?` : `Delete model ${name} and all its versions?`))
      return;
    try {
      await send(
        'DELETE',
        v ? `/delete/${encodeURIComponent(name)}/${v}` : `/delete/${encodeURIComponent(name)}`,
      );
      setDeleted(v ? `version ${v} deleted` : `model ${name} deleted`);
      if (!v) location.hash = '#/models';
      else await d.reload();
    } catch (e) {
      setError(errorText(e));
    }
  };
  const download = async (file?: string) => {
    try {
      const b = await blob(
        `/models/${encodeURIComponent(name)}/${m!.version}/download${file ? `?file=${file}` : ''}`,
      );
      const a = document.createElement('a');
      a.href = URL.createObjectURL(b);
      a.download = file ?? `${name}-${m!.version}.tar.gz`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
    } catch (e) {
      setError(errorText(e));
    }
  };
  const t = m ? testMetrics(m) : {};
  return (
    <Page title={`Model ${name}`}>
      <ErrorBox error={d.error ?? error} />
      {deleted && <p role="status">{deleted}</p>}
      {m && (
        <>
          <form class="inline">
            <label for="version">Version</label>{' '}
            <select
              id="version"
              value={m.version}
              onChange={(e) => {
                location.hash = `#/models/${encodeURIComponent(name)}?v=${e.currentTarget.value}`;
              }}
            >
              {m.versions.map((v) => (
                <option key={v} value={v}>
                  {v}
                  {v === m.latest ? ' (latest)' : ''}
                </option>
              ))}
            </select>{' '}
            {m.versions.length > 1 && <a href={`#/compare/${encodeURIComponent(name)}`}>Compare versions</a>}
          </form>
          <dl class="facts">
            <dt>description</dt>
            <dd>{m.description || '—'}</dd>
            <dt>owner</dt>
            <dd data-testid="model-owner">
              {m.owner ? `${m.owner.user}${m.owner.group ? ` (group ${m.owner.group})` : ''}` : '—'}
            </dd>
            <dt>published</dt>
            <dd>{when(m.timestamp)}</dd>
            <dt>test AUC</dt>
            <dd data-testid="model-auc">{fmt(t.auc)}</dd>
            <dt>test accuracy</dt>
            <dd>{fmt(t.accuracy)}</dd>
            <dt>test events</dt>
            <dd>{fmt(t.testEvents)}</dd>
            <dt>classes</dt>
            <dd>{m.classes.join(', ')}</dd>
          </dl>
          <h2>Features ({m.features.length})</h2>
          <p class="features">{m.features.join(', ')}</p>
          <p>
            <button type="button" onClick={() => download()}>
              Download bundle (.tar.gz)
            </button>{' '}
            {m.onnx ? (
              <button type="button" onClick={() => download('model.onnx')}>
                Download model.onnx
              </button>
            ) : null}{' '}
            {admin && (
              <>
                <button type="button" class="danger" onClick={() => del(m.version)}>
                  Delete version {m.version}
                </button>{' '}
                <button type="button" class="danger" onClick={() => del()}>
                  Delete model
                </button>
              </>
            )}
          </p>
          <h2>Plots</h2>
          <div class="plots">
            {m.plots.map((p) => (
              <AuthImage
                key={`${m.version}-${p}`}
                alt={`plot ${p}`}
                src={`/models/${encodeURIComponent(name)}/${m.version}/plots/${p}.svg`}
                load={blob}
              />
            ))}
          </div>
          <TryIt d={m} />
        </>
      )}
    </Page>
  );
}

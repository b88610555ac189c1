import { useEffect, useRef, useState } from 'preact/hooks';
import { blob, errorText, get, send, text } from '../api';
import { LineChart } from '../chart';
import { type Job, type ModelDescription, TERMINAL } from '../types';
import { AuthImage, ErrorBox, fmt, Page, StatusBadge, useLoad, when } from '../ui';

const progressText = (j: Job): string => {
  const p = j.progress;
  if (!p) return j.status === 'queued' ? 'waiting for a trainer' : '—';
  return `epoch ${p.epoch}/${p.epochs}, chunk ${p.chunk}/${p.chunks}, loss ${p.loss.toFixed(4)}`;
};

export function JobsList() {
  const jobs = useLoad(() => get<Job[]>('/jobs'), [], {
    every: 3000,
    while: (v) => !!v?.some((j) => !TERMINAL.includes(j.status)),
  });
  return (
    <Page title="Jobs">
      <p>
        <a href="#/new" class="button">
          New job
        </a>
      </p>
      <ErrorBox error={jobs.error} />
      {jobs.value && jobs.value.length === 0 && <p>No jobs yet: start one with “New job”.</p>}
      {jobs.value && jobs.value.length > 0 && (
        <div class="table-wrap">
          <table>
            <caption class="sr-only">Your training jobs, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">Status</th>
                <th scope="col">Progress</th>
                <th scope="col">Created</th>
                <th scope="col">Model</th>
              </tr>
            </thead>
            <tbody>
              {jobs.value.map((j) => (
                <tr key={j.job_id}>
                  <td>
                    <a href={`#/jobs/${j.job_id}`}>{j.job_id.slice(0, 8)}</a>
                  </td>
                  <td>
                    <StatusBadge status={j.status} />
                  </td>
                  <td>{progressText(j)}</td>
                  <td>{when(j.created)}</td>
                  <td>
                    {j.model ? (
                      <a href={`#/models/${encodeURIComponent(j.model.name)}?v=${j.model.version}`}>
                        {j.model.name} {j.model.version}
                      </a>
                    ) : (
                      '—'
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Page>
  );
}

function Logs({ id, live }: { id: string; live: boolean }) {
  const logs = useLoad(() => text(`/jobs/${id}/logs`), [id], { every: 2000, while: () => live });
  const pre = useRef<HTMLPreElement>(null);
  const [follow, setFollow] = useState(true);
  useEffect(() => {
    if (follow && pre.current) pre.current.scrollTop = pre.current.scrollHeight;
  }, [logs.value, follow]);
  return (
    <section aria-labelledby="logs-h">
      <h2 id="logs-h">Logs</h2>
      <label>
        <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.currentTarget.checked)} /> follow
      </label>
      <ErrorBox error={logs.error} />
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be reachable by keyboard (axe: scrollable-region-focusable) */}
      <pre ref={pre} class="logs" tabIndex={0}>
        {logs.value || '(no lines yet)'}
      </pre>
    </section>
  );
}

function Result({ job }: { job: Job }) {
  const m = job.model!;
  const d = useLoad(
    () =>
      get<ModelDescription>(`/models/${encodeURIComponent(m.name)}?version=${encodeURIComponent(m.version)}`),
    [m.name, m.version],
  );
  return (
    <section aria-labelledby="result-h">
      <h2 id="result-h">Result</h2>
      <p>
        Model{' '}
        <a href={`#/models/${encodeURIComponent(m.name)}?v=${m.version}`}>
          {m.name} version {m.version}
        </a>
      </p>
      <dl class="facts">
        <dt>test AUC</dt>
        <dd>{fmt(job.metrics?.auc)}</dd>
        <dt>test accuracy</dt>
        <dd>{fmt(job.metrics?.accuracy)}</dd>
        <dt>test events</dt>
        <dd>{fmt(job.metrics?.testEvents)}</dd>
      </dl>
      <ErrorBox error={d.error} />
      {d.value && (
        <>
          <h3>Features ({d.value.features.length})</h3>
          <p class="features">{d.value.features.join(', ')}</p>
          <h3>Plots</h3>
          <div class="plots">
            {d.value.plots.map((p) => (
              <AuthImage
                key={p}
                alt={`plot ${p}`}
                src={`/models/${encodeURIComponent(m.name)}/${m.version}/plots/${p}.svg`}
                load={blob}
              />
            ))}
          </div>
        </>
      )}
    </section>
  );
}

export function JobPage({ id }: { id: string }) {
  const job = useLoad(() => get<Job>(`/jobs/${id}`), [id], {
    every: 1500,
    while: (v) => !v || !TERMINAL.includes(v.status),
  });
  const [cancelError, setCancelError] = useState<string>();
  const j = job.value;
  const live = !!j && !TERMINAL.includes(j.status);
  const h = j?.history ?? [];
  const cancel = async () => {
    if (!confirm('Cancel this job? A running job stops at its next batch.')) return;
    try {
      await send('DELETE', `/jobs/${id}`);
      await job.reload();
    } catch (e) {
      setCancelError(errorText(e));
    }
  };
  return (
    <Page title={`Job ${id.slice(0, 8)}`}>
      <ErrorBox error={job.error} />
      {j && (
        <>
          <dl class="facts">
            <dt>status</dt>
            <dd>
              <StatusBadge status={j.status} /> <span aria-live="polite">{progressText(j)}</span>
            </dd>
            <dt>created</dt>
            <dd>{when(j.created)}</dd>
            <dt>finished</dt>
            <dd>{when(j.finished)}</dd>
            <dt>attempts</dt>
            <dd>{j.attempts}</dd>
          </dl>
          {j.error && (
            <p class="error" role="alert">
              <strong>Failed:</strong> {j.error}
            </p>
          )}
          {live && (
            <button type="button" onClick={cancel}>
              Cancel job
            </button>
          )}
          <ErrorBox error={cancelError} />
          <LineChart
            title="Loss and validation AUC per epoch"
            xLabel="epoch"
            integerX
            x={h.map((_, i) => i + 1)}
            series={[
              { label: 'loss', values: h.map((e) => e.loss ?? null), stroke: '#1f5fa8' },
              {
                label: 'validation loss',
                values: h.map((e) => e.valLoss ?? null),
                stroke: '#b35900',
                dash: [6, 3],
              },
              {
                label: 'validation AUC',
                values: h.map((e) => e.valAuc ?? null),
                stroke: '#2e7d32',
                dash: [2, 3],
                right: true,
              },
            ]}
          />
          <p class="muted" data-testid="epochs-drawn">
            {h.length} epoch{h.length === 1 ? '' : 's'} drawn
          </p>
          {j.status === 'succeeded' && j.model && <Result job={j} />}
          <Logs id={id} live={live} />
        </>
      )}
    </Page>
  );
}

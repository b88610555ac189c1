import { useState } from 'preact/hooks';
import { get } from '../api';
import { LineChart } from '../chart';
import type { ModelDescription } from '../types';
import { ErrorBox, fmt, Page, useLoad } from '../ui';
import { testMetrics } from './models';

type Roc = Array<{ fpr: number; tpr: number }>;

/** Two ROC curves on one FPR grid (each interpolated), so uPlot draws them against one x axis. */
function onGrid(roc: Roc, grid: number[]): number[] {
  return grid.map((x) => {
    let i = roc.findIndex((p) => p.fpr >= x);
    if (i < 0) return roc.at(-1)?.tpr ?? 1;
    if (i === 0) return roc[0].tpr;
    const a = roc[i - 1];
    const b = roc[i];
    i = 0;
    return b.fpr === a.fpr ? b.tpr : a.tpr + ((x - a.fpr) / (b.fpr - a.fpr)) * (b.tpr - a.tpr);
  });
}

export function ComparePage({ name }: { name: string }) {
  const base = useLoad(() => get<ModelDescription>(`/models/${encodeURIComponent(name)}`), [name]);
  const versions = base.value?.versions ?? [];
  const [a, setA] = useState<string>();
  const [b, setB] = useState<string>();
  const va = a ?? versions[1] ?? versions[0];
  const vb = b ?? versions[0];
  const load = (v?: string) => () =>
    v
      ? get<ModelDescription>(`/models/${encodeURIComponent(name)}?version=${v}`)
      : Promise.resolve(undefined);
  const da = useLoad(load(va), [name, va]);
  const db = useLoad(load(vb), [name, vb]);
  const grid = Array.from({ length: 101 }, (_, i) => i / 100);
  const roc = (d?: ModelDescription) => (d ? ((testMetrics(d).roc as Roc | undefined) ?? []) : []);
  const rows = ['auc', 'accuracy', 'testEvents'];
  const pick = (id: string, label: string, value: string | undefined, set: (v: string) => void) => (
    <div class="field">
      <label for={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => set(e.currentTarget.value)}>
        {versions.map((v) => (
          <option key={v}>{v}</option>
        ))}
      </select>
    </div>
  );
  return (
    <Page title={`Compare versions of ${name}`}>
      <ErrorBox error={base.error ?? da.error ?? db.error} />
      <div class="pickers">
        {pick('va', 'version A', va, setA)}
        {pick('vb', 'version B', vb, setB)}
      </div>
      {da.value && db.value && (
        <>
          <table>
            <caption>Test metrics</caption>
            <thead>
              <tr>
                <th scope="col">metric</th>
                <th scope="col">A: {va}</th>
                <th scope="col">B: {vb}</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r}>
                  <th scope="row">{r}</th>
                  <td>{fmt(testMetrics(da.value!)[r])}</td>
                  <td>{fmt(testMetrics(db.value!)[r])}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <LineChart
            title="ROC curves on the test split"
            xLabel="false positive rate"
            yLabel="true positive rate"
            x={grid}
            series={[
              { label: `A: ${va}`, values: onGrid(roc(da.value), grid), stroke: '#1f5fa8' },
              { label: `B: ${vb}`, values: onGrid(roc(db.value), grid), stroke: '#b35900', dash: [6, 3] },
            ]}
          />
        </>
      )}
    </Page>
  );
}

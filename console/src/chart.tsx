import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export interface Series {
  label: string;
  values: Array<number | null>;
  /** the right-hand axis (AUC) rather than the left (loss) */
  right?: boolean;
  dash?: number[];
  stroke: string;
}

/**
 * Curves with uPlot: lines told apart by dash pattern and legend label as well as by colour. The
 * numbers are also given as a table (screen readers, and anyone who wants the values).
 */
export function LineChart({
  title,
  x,
  xLabel,
  series,
  integerX = false,
  yLabel = 'loss',
}: {
  title: string;
  x: number[];
  xLabel: string;
  series: Series[];
  /** ticks on whole numbers only (epochs) */
  integerX?: boolean;
  /** the left axis */
  yLabel?: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = series.map((s) => s.label).join('|');
  useEffect(() => {
    if (!box.current) return;
    const width = Math.max(280, Math.min(720, box.current.clientWidth || 600));
    const opts: uPlot.Options = {
      title,
      width,
      height: 260,
      scales: { x: { time: false } },
      axes: [
        { label: xLabel, ...(integerX ? { incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500] } : {}) },
        { label: yLabel, scale: 'loss' },
        ...(series.some((s) => s.right)
          ? [{ label: 'AUC', scale: 'auc', side: 1 as const, grid: { show: false } }]
          : []),
      ],
      series: [
        { label: xLabel },
        ...series.map((s) => ({
          label: s.label,
          stroke: s.stroke,
          width: 2,
          dash: s.dash,
          scale: s.right ? 'auc' : 'loss',
          points: { show: true, size: 5 },
        })),
      ],
    };
    plot.current?.destroy();
    plot.current = new uPlot(opts, [x, ...series.map((s) => s.values)] as uPlot.AlignedData, box.current);
    return () => {
      plot.current?.destroy();
      plot.current = null;
    };
  }, [shape, title, yLabel]);
  useEffect(() => {
    plot.current?.setData([x, ...series.map((s) => s.values)] as uPlot.AlignedData);
  }, [x.length, series.map((s) => s.values.at(-1)).join(',')]);
  return (
    <figure class="chart">
      <div
        ref={box}
        role="img"
        aria-label={`${title}: ${series.map((s) => s.label).join(', ')} against ${xLabel}`}
      />
      <details>
        <summary>{title}: the numbers</summary>
        <table>
          <thead>
            <tr>
              <th scope="col">{xLabel}</th>
              {series.map((s) => (
                <th scope="col" key={s.label}>
                  {s.label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {x.map((xv, i) => (
              <tr key={xv}>
                <td>{xv}</td>
                {series.map((s) => (
                  <td key={s.label}>{s.values[i] == null ? '—' : s.values[i]!.toFixed(4)}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}

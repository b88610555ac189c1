/**
 * Standalone SVG plots of a training run: loss (and AUC) per epoch, the ROC curve, and the score
 * distributions of signal and background. Each function returns a complete SVG document (a string
 * with viewBox, title, axes, ticks, labels and a legend) that a browser, an <img> tag or a notebook
 * displays as is; no scripts, no external fonts, all user text escaped.
 */
import { InvalidInputError } from '../errors.js';
import {
  type Axis,
  drawLegend,
  drawLine,
  drawPanel,
  type LegendItem,
  niceAxis,
  num,
  type Panel,
  px,
  py,
  svgDocument,
  text,
} from './svg.js';

export { escapeXml } from './svg.js';

/** One epoch of a training history; missing or NaN values are left out of the plot. */
export interface EpochRecord {
  epoch: number;
  loss: number;
  valLoss?: number;
  auc?: number;
  valAuc?: number;
}

/** Colours that stay apart on screen and in print; background blue and signal red first, as in HEP. */
const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
const DASHES = [undefined, '6 3', '2 3', '8 3 2 3'];
const TRAIN_COLOUR = '#1f77b4';
const VALID_COLOUR = '#ff7f0e';

function finiteRange(values: Iterable<number | undefined>): [number, number] | undefined {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of values) {
    if (v === undefined || !Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : undefined;
}

const noData = (p: Panel): string =>
  text(p.left + p.width / 2, p.top + p.height / 2, 'No finite values to plot', { size: 13, fill: '#888' });

interface Series {
  label: string;
  color: string;
  dash?: string;
  values: number[];
}

/** One panel of per-epoch series sharing an x axis. */
function epochPanel(
  p: Panel,
  epochs: number[],
  series: Series[],
  yLabel: string,
  showEpochLabel: boolean,
  legendAt: 'top' | 'bottom',
): string[] {
  const out = [drawPanel(p, showEpochLabel ? 'Epoch' : '', yLabel)];
  const legend: LegendItem[] = [];
  for (const s of series) {
    const points = s.values.filter((v, i) => Number.isFinite(v) && Number.isFinite(epochs[i])).length;
    if (!points) continue;
    out.push(drawLine(p, epochs, s.values, { color: s.color, dash: s.dash, markers: points <= 30 }));
    legend.push({ label: s.label, color: s.color, dash: s.dash });
  }
  // losses fall, so their top-right corner is empty; AUCs rise, so theirs is the bottom right
  const y = legendAt === 'top' ? p.top + 8 : p.top + p.height - 8 - (legend.length * 18 + 10);
  out.push(legend.length ? drawLegend(legend, p.left + p.width - 8, y, 'right') : noData(p));
  return out;
}

/**
 * Loss and validation loss against epoch; when the history has AUC values, a second panel below
 * shows training and validation AUC on the same epoch axis. Handles a single epoch, a flat loss and
 * NaN entries (skipped; the line breaks there).
 */
export function lossCurveSvg(history: ReadonlyArray<EpochRecord>, title = 'Training history'): string {
  if (!Array.isArray(history)) throw new InvalidInputError('Loss curve: history must be an array of epochs.');
  const epochs = history.map((h) => Number(h.epoch));
  const col = (key: keyof EpochRecord): number[] =>
    history.map((h) => (typeof h[key] === 'number' ? h[key] : NaN));
  const loss = col('loss');
  const valLoss = col('valLoss');
  const trainAuc = col('auc');
  const valAuc = col('valAuc');

  const [e0, e1] = finiteRange(epochs) ?? [0, 1];
  const x: Axis = niceAxis(e0, e1, { integer: true, maxTicks: 11 });
  const lossRange = finiteRange([...loss, ...valLoss]);
  const aucRange = finiteRange([...trainAuc, ...valAuc]);
  const width = 720;
  const left = 84;
  const plotW = width - left - 28;
  const lossP: Panel = {
    left,
    top: 48,
    width: plotW,
    height: 280,
    x,
    y: lossRange
      ? niceAxis(
          lossRange[0],
          lossRange[1],
          lossRange[0] >= 0 ? { clamp: [0, Number.POSITIVE_INFINITY] } : {},
        )
      : niceAxis(0, 1),
  };
  const body = epochPanel(
    lossP,
    epochs,
    [
      { label: 'Training loss', color: TRAIN_COLOUR, values: loss },
      { label: 'Validation loss', color: VALID_COLOUR, dash: '6 3', values: valLoss },
    ],
    'Loss',
    !aucRange,
    'top',
  );
  let height = lossP.top + lossP.height + 60;
  if (aucRange) {
    const aucP: Panel = {
      left,
      top: lossP.top + lossP.height + 36,
      width: plotW,
      height: 170,
      x,
      y: niceAxis(aucRange[0], aucRange[1], { clamp: [0, 1], maxTicks: 5 }),
    };
    body.push(
      ...epochPanel(
        aucP,
        epochs,
        [
          { label: 'Training AUC', color: TRAIN_COLOUR, values: trainAuc },
          { label: 'Validation AUC', color: VALID_COLOUR, dash: '6 3', values: valAuc },
        ],
        'ROC AUC',
        true,
        'bottom',
      ),
    );
    height = aucP.top + aucP.height + 60;
  }
  return svgDocument(width, height, title, body);
}

/** Formats an AUC for a legend: "AUC = 0.862", or "AUC = n/a" when it is not a number. */
export const formatAuc = (auc: number): string => `AUC = ${Number.isFinite(auc) ? auc.toFixed(3) : 'n/a'}`;

/**
 * The ROC curve (true positive rate against false positive rate) on a square [0, 1] frame, with the
 * random-guess diagonal for reference and the AUC in the legend.
 */
export function rocCurveSvg(
  points: ReadonlyArray<{ fpr: number; tpr: number }>,
  auc: number,
  title = 'ROC curve',
): string {
  if (!Array.isArray(points)) throw new InvalidInputError('ROC plot: points must be an array of {fpr, tpr}.');
  const unit = niceAxis(0, 1, { maxTicks: 6 });
  const p: Panel = { left: 84, top: 48, width: 420, height: 420, x: unit, y: unit };
  const clamp01 = (v: number): number => (Number.isFinite(v) ? Math.min(1, Math.max(0, v)) : NaN);
  const body = [
    drawPanel(p, 'False positive rate (background efficiency)', 'True positive rate (signal efficiency)'),
    `<line x1="${num(px(p, 0))}" y1="${num(py(p, 0))}" x2="${num(px(p, 1))}" y2="${num(py(p, 1))}" stroke="#999" stroke-width="1.5" stroke-dasharray="5 4"/>`,
    drawLine(
      p,
      points.map((q) => clamp01(q.fpr)),
      points.map((q) => clamp01(q.tpr)),
      { color: PALETTE[1], width: 2.5 },
    ),
  ];
  const items: LegendItem[] = [
    { label: `ROC curve (${formatAuc(auc)})`, color: PALETTE[1] },
    { label: 'Random guess (AUC = 0.5)', color: '#999', dash: '5 4' },
  ];
  body.push(
    drawLegend(items, p.left + p.width - 8, p.top + p.height - 8 - (items.length * 18 + 10), 'right'),
  );
  if (!points.some((q) => Number.isFinite(q.fpr) && Number.isFinite(q.tpr))) body.push(noData(p));
  return svgDocument(p.left + p.width + 36, p.top + p.height + 64, title, body);
}

/**
 * Step histograms of the classifier score per class, each normalised to unit area (the `density`
 * of scoreHistograms), overlaid in distinct colours with a light fill. classNames label the rows in
 * order (class 0 first, usually background); missing names become "Class i".
 */
export function scoreDistributionsSvg(
  hist: { edges: ReadonlyArray<number>; density: ReadonlyArray<ReadonlyArray<number>> },
  classNames: ReadonlyArray<string>,
  title = 'Classifier score distributions',
): string {
  const { edges, density } = hist;
  if (!Array.isArray(edges) || edges.length < 2) {
    throw new InvalidInputError('Score plot: a histogram needs at least two bin edges.');
  }
  for (let i = 0; i < edges.length; i++) {
    if (!Number.isFinite(edges[i]) || (i > 0 && !(edges[i] > edges[i - 1]))) {
      throw new InvalidInputError('Score plot: bin edges must be finite and strictly increasing.');
    }
  }
  const bins = edges.length - 1;
  density.forEach((row, c) => {
    if (row.length !== bins) {
      throw new InvalidInputError(`Score plot: class ${c} has ${row.length} bins but there are ${bins}.`);
    }
  });
  const value = (v: number): number => (Number.isFinite(v) && v > 0 ? v : 0);
  const peak = Math.max(0, ...density.map((row) => Math.max(0, ...row.map(value))));
  const p: Panel = {
    left: 84,
    top: 48,
    width: 612,
    height: 320,
    x: niceAxis(edges[0], edges[bins], { exact: true, maxTicks: 6 }),
    y: niceAxis(0, peak > 0 ? peak * 1.12 : 1, { clamp: [0, Number.POSITIVE_INFINITY] }),
  };
  const body = [drawPanel(p, 'Classifier score', 'Density (unit area)')];
  const legend: LegendItem[] = [];
  density.forEach((row, c) => {
    const color = PALETTE[c % PALETTE.length];
    const dash = DASHES[Math.floor(c / PALETTE.length) % DASHES.length];
    const base = num(py(p, 0));
    let d = `M${num(px(p, edges[0]))} ${base}`;
    for (let b = 0; b < bins; b++) d += ` V${num(py(p, value(row[b])))} H${num(px(p, edges[b + 1]))}`;
    d += ` V${base}`;
    const dashAttr = dash ? ` stroke-dasharray="${dash}"` : '';
    body.push(`<path d="${d} Z" fill="${color}" fill-opacity="0.15" stroke="none"/>`);
    body.push(`<path d="${d}" fill="none" stroke="${color}" stroke-width="2"${dashAttr}/>`);
    legend.push({ label: classNames[c] ?? `Class ${c}`, color, box: true });
  });
  body.push(legend.length ? drawLegend(legend, p.left + p.width / 2, p.top + 8, 'center') : noData(p));
  return svgDocument(p.left + p.width + 24, p.top + p.height + 64, title, body);
}

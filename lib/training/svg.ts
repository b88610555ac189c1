/**
 * A very small SVG toolkit for the training plots: text escaping, "nice" axis ticks, a framed panel
 * with grid, ticks and labels, polylines that skip missing values, and a legend. Output is plain
 * SVG 1.1 text with no scripts, no external fonts and no external references.
 */

/** Escapes text for SVG element content or attribute values; drops characters XML 1.0 forbids. */
export function escapeXml(text: string): string {
  return String(text)
    .replace(/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '\uFFFD')
    .replace(/[&<>"']/g, (c) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' }[c]};`);
}

/** A linear axis: the displayed domain and the tick values inside it. */
export interface Axis {
  min: number;
  max: number;
  step: number;
  ticks: number[];
}

/** The smallest of 1, 2, 5 × 10^k that is >= x. */
function niceStep(x: number): number {
  const p = 10 ** Math.floor(Math.log10(x));
  const f = x / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * p;
}

export interface AxisOptions {
  /** At most about this many ticks (default 6). */
  maxTicks?: number;
  /** Ticks on whole numbers only (epochs). */
  integer?: boolean;
  /** Keep the domain exactly [lo, hi] instead of widening it to whole steps. */
  exact?: boolean;
  /** Never widen the domain beyond these bounds (e.g. [0, 1] for an AUC). */
  clamp?: readonly [number, number];
}

/**
 * A readable axis covering [lo, hi]: ticks at 1, 2 or 5 × 10^k steps. Non-finite bounds give
 * [0, 1]; a zero-width range (a flat loss, a single epoch) is widened around its value.
 */
export function niceAxis(lo: number, hi: number, opts: AxisOptions = {}): Axis {
  const maxTicks = opts.maxTicks ?? 6;
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
    lo = 0;
    hi = 1;
  }
  if (lo > hi) [lo, hi] = [hi, lo];
  if (hi - lo <= 1e-9 * Math.max(Math.abs(lo), Math.abs(hi))) {
    const pad = opts.integer ? 1 : lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  let step = niceStep((hi - lo) / Math.max(1, maxTicks - 1));
  if (opts.integer) step = Math.max(1, Math.round(step));
  let min = opts.exact ? lo : Math.floor(lo / step + 1e-9) * step;
  let max = opts.exact ? hi : Math.ceil(hi / step - 1e-9) * step;
  if (opts.clamp) {
    min = Math.max(min, opts.clamp[0]);
    max = Math.min(max, opts.clamp[1]);
  }
  const ticks: number[] = [];
  for (let i = Math.ceil(min / step - 1e-9); i <= Math.floor(max / step + 1e-9); i++) {
    ticks.push(Number.parseFloat((i * step).toPrecision(12)));
  }
  return { min, max, step, ticks };
}

/** A tick label with as many decimals as the step needs, trailing zeros dropped: 0, 0.2 … 1, or 1e-5 … */
export function formatTick(v: number, step: number): string {
  if (v === 0 || Math.abs(v) < step * 1e-9) return '0';
  const a = Math.abs(step);
  if (a >= 1e5 || a < 1e-4) {
    const digits = Math.min(
      6,
      Math.max(0, Math.floor(Math.log10(Math.abs(v)) + 1e-9) - Math.floor(Math.log10(a) + 1e-9)),
    );
    const [mant, exp] = v.toExponential(digits).split('e');
    const m = mant.includes('.') ? mant.replace(/\.?0+$/, '') : mant;
    return `${m}e${exp.replace('+', '')}`;
  }
  const decimals = Math.max(0, -Math.floor(Math.log10(a) + 1e-9));
  const s = v
    .toFixed(decimals)
    .replace(/(\.\d*?)0+$/, '$1')
    .replace(/\.$/, '');
  return s === '-0' ? '0' : s;
}

/** A number with two decimals for coordinates. */
export const num = (v: number): string => String(Math.round(v * 100) / 100);

/** A framed plotting area with its axes. */
export interface Panel {
  left: number;
  top: number;
  width: number;
  height: number;
  x: Axis;
  y: Axis;
}

export const px = (p: Panel, v: number): number => p.left + ((v - p.x.min) / (p.x.max - p.x.min)) * p.width;
export const py = (p: Panel, v: number): number =>
  p.top + p.height - ((v - p.y.min) / (p.y.max - p.y.min)) * p.height;

export const FONT = 'font-family="Helvetica, Arial, sans-serif"';

export function text(
  x: number,
  y: number,
  content: string,
  attrs: {
    size?: number;
    anchor?: 'start' | 'middle' | 'end';
    weight?: string;
    rotate?: boolean;
    fill?: string;
  } = {},
): string {
  const rot = attrs.rotate ? ` transform="rotate(-90 ${num(x)} ${num(y)})"` : '';
  const weight = attrs.weight ? ` font-weight="${attrs.weight}"` : '';
  return (
    `<text x="${num(x)}" y="${num(y)}" font-size="${attrs.size ?? 12}" text-anchor="${attrs.anchor ?? 'middle'}"` +
    ` fill="${attrs.fill ?? '#222'}"${weight}${rot}>${escapeXml(content)}</text>`
  );
}

/** Grid lines, frame, ticks, tick labels and axis labels of a panel. */
export function drawPanel(p: Panel, xLabel: string, yLabel: string, showXLabels = true): string {
  const out: string[] = ['<g class="axes">'];
  const bottom = p.top + p.height;
  out.push(
    `<rect x="${num(p.left)}" y="${num(p.top)}" width="${num(p.width)}" height="${num(p.height)}" fill="#fff"/>`,
  );
  for (const t of p.x.ticks) {
    const x = num(px(p, t));
    out.push(`<line x1="${x}" y1="${num(p.top)}" x2="${x}" y2="${num(bottom)}" stroke="#e6e6e6"/>`);
    out.push(`<line x1="${x}" y1="${num(bottom)}" x2="${x}" y2="${num(bottom + 5)}" stroke="#444"/>`);
    if (showXLabels) out.push(text(Number(x), bottom + 18, formatTick(t, p.x.step), { size: 11 }));
  }
  for (const t of p.y.ticks) {
    const y = num(py(p, t));
    out.push(
      `<line x1="${num(p.left)}" y1="${y}" x2="${num(p.left + p.width)}" y2="${y}" stroke="#e6e6e6"/>`,
    );
    out.push(`<line x1="${num(p.left - 5)}" y1="${y}" x2="${num(p.left)}" y2="${y}" stroke="#444"/>`);
    out.push(text(p.left - 8, Number(y) + 4, formatTick(t, p.y.step), { size: 11, anchor: 'end' }));
  }
  out.push(
    `<rect x="${num(p.left)}" y="${num(p.top)}" width="${num(p.width)}" height="${num(p.height)}" fill="none" stroke="#444"/>`,
  );
  if (xLabel) out.push(text(p.left + p.width / 2, bottom + 38, xLabel, { size: 13 }));
  if (yLabel) out.push(text(p.left - 50, p.top + p.height / 2, yLabel, { size: 13, rotate: true }));
  out.push('</g>');
  return out.join('\n');
}

export interface LineStyle {
  color: string;
  dash?: string;
  width?: number;
  /** Draw a dot at every point (always done for isolated points). */
  markers?: boolean;
}

/** A line through (xs[i], ys[i]); pairs with a non-finite coordinate are skipped and break the line. */
export function drawLine(p: Panel, xs: ArrayLike<number>, ys: ArrayLike<number>, style: LineStyle): string {
  const segments: Array<Array<[number, number]>> = [];
  let current: Array<[number, number]> = [];
  for (let i = 0; i < Math.min(xs.length, ys.length); i++) {
    if (Number.isFinite(xs[i]) && Number.isFinite(ys[i])) current.push([px(p, xs[i]), py(p, ys[i])]);
    else if (current.length) {
      segments.push(current);
      current = [];
    }
  }
  if (current.length) segments.push(current);
  const dash = style.dash ? ` stroke-dasharray="${style.dash}"` : '';
  const out: string[] = [];
  for (const seg of segments) {
    if (seg.length > 1) {
      const d = seg.map(([x, y], i) => `${i ? 'L' : 'M'}${num(x)} ${num(y)}`).join(' ');
      out.push(
        `<path d="${d}" fill="none" stroke="${style.color}" stroke-width="${style.width ?? 2}"` +
          ` stroke-linejoin="round"${dash}/>`,
      );
    }
    if (style.markers || seg.length === 1) {
      for (const [x, y] of seg)
        out.push(`<circle cx="${num(x)}" cy="${num(y)}" r="3" fill="${style.color}"/>`);
    }
  }
  return out.join('\n');
}

export interface LegendItem {
  label: string;
  color: string;
  dash?: string;
  /** A filled box instead of a line sample (histograms). */
  box?: boolean;
}

/** A legend box; (x, y) is its top-left, top-right or top-centre corner according to align. */
export function drawLegend(
  items: LegendItem[],
  x: number,
  y: number,
  align: 'left' | 'right' | 'center',
): string {
  if (!items.length) return '';
  const rowH = 18;
  const width = 44 + Math.max(...items.map((i) => i.label.length)) * 6.6;
  const height = items.length * rowH + 10;
  const left = align === 'left' ? x : align === 'right' ? x - width : x - width / 2;
  const out = [
    '<g class="legend">',
    `<rect x="${num(left)}" y="${num(y)}" width="${num(width)}" height="${height}" fill="#fff" fill-opacity="0.85" stroke="#bbb"/>`,
  ];
  items.forEach((item, i) => {
    const cy = y + 5 + rowH * i + rowH / 2;
    if (item.box) {
      out.push(
        `<rect x="${num(left + 8)}" y="${num(cy - 6)}" width="22" height="12" fill="${item.color}" fill-opacity="0.25" stroke="${item.color}" stroke-width="2"/>`,
      );
    } else {
      const dash = item.dash ? ` stroke-dasharray="${item.dash}"` : '';
      out.push(
        `<line x1="${num(left + 8)}" y1="${num(cy)}" x2="${num(left + 30)}" y2="${num(cy)}" stroke="${item.color}" stroke-width="2"${dash}/>`,
      );
    }
    out.push(text(left + 36, cy + 4, item.label, { size: 12, anchor: 'start' }));
  });
  out.push('</g>');
  return out.join('\n');
}

/** Wraps a body in a standalone SVG document with a white background and a centred title. */
export function svgDocument(width: number, height: number, title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT}>`,
    `<title>${escapeXml(title)}</title>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#fff"/>`,
    text(width / 2, 26, title, { size: 16, weight: 'bold' }),
    ...body.filter((b) => b.length > 0),
    '</svg>',
    '',
  ].join('\n');
}

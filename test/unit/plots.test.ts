import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../lib/errors.js';
import { auc, rocCurve, scoreHistograms } from '../../lib/training/metrics.js';
import { escapeXml, lossCurveSvg, rocCurveSvg, scoreDistributionsSvg } from '../../lib/training/plots.js';
import { formatTick, niceAxis } from '../../lib/training/svg.js';

/**
 * A minimal XML well-formedness check: tags nest and balance, attributes are quoted, text has no
 * raw `<` and only the predefined or numeric entities. Returns the element names in document order.
 */
function checkWellFormed(xml: string): string[] {
  const names: string[] = [];
  const stack: string[] = [];
  const entity = /&(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);/g;
  const checkText = (t: string, where: string): void => {
    if (t.replace(entity, '').includes('&')) throw new Error(`bare & in ${where}: ${t}`);
  };
  const token = /<(\/?)([A-Za-z][\w:.-]*)((?:\s+[\w:.-]+\s*=\s*"[^"<]*")*)\s*(\/?)>/y;
  let i = xml.indexOf('<');
  if (xml.slice(0, i).trim()) throw new Error('text before the root element');
  while (i < xml.length) {
    token.lastIndex = i;
    const m = token.exec(xml);
    if (!m) throw new Error(`malformed tag at ${i}: ${xml.slice(i, i + 60)}`);
    const [, close, name, attrs, selfClose] = m;
    for (const a of attrs.matchAll(/"([^"]*)"/g)) checkText(a[1], `attribute of <${name}>`);
    if (close) {
      if (stack.pop() !== name) throw new Error(`</${name}> does not close the open element`);
    } else {
      names.push(name);
      if (!selfClose) stack.push(name);
    }
    const next = xml.indexOf('<', token.lastIndex);
    const textEnd = next < 0 ? xml.length : next;
    const between = xml.slice(token.lastIndex, textEnd);
    if (stack.length === 0 && between.trim()) throw new Error('text after the root element');
    checkText(between, `content of <${stack.at(-1)}>`);
    i = textEnd;
  }
  if (stack.length) throw new Error(`unclosed elements: ${stack.join(', ')}`);
  return names;
}

function expectStandaloneSvg(svg: string): string[] {
  expect(svg.startsWith('<svg')).toBe(true);
  expect(svg).toMatch(/viewBox="0 0 \d+ \d+"/);
  expect(svg).toContain('xmlns="http://www.w3.org/2000/svg"');
  expect(svg).not.toMatch(/<script|href=|@import|url\(|NaN|Infinity|undefined/);
  const names = checkWellFormed(svg);
  expect(names[0]).toBe('svg');
  expect(names).toContain('title');
  expect(svg.match(/<g[\s>]/g)?.length).toBe(svg.match(/<\/g>/g)?.length);
  return names;
}

const texts = (svg: string): string[] => [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);

describe('the well-formedness check itself', () => {
  it('rejects unbalanced tags, bare ampersands and raw < in text', () => {
    expect(() => checkWellFormed('<svg><g></svg>')).toThrow();
    expect(() => checkWellFormed('<svg><text>a & b</text></svg>')).toThrow();
    expect(() => checkWellFormed('<svg><text>a < b</text></svg>')).toThrow();
    expect(checkWellFormed('<svg a="1"><text>a &amp; b</text><g/></svg>')).toEqual(['svg', 'text', 'g']);
  });
});

describe('axis ticks and labels', () => {
  it('puts ticks at 1, 2, 5 × 10^k steps and formats them with the decimals the step needs', () => {
    const unit = niceAxis(0, 1);
    expect(unit.ticks).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(unit.ticks.map((t) => formatTick(t, unit.step))).toEqual(['0', '0.2', '0.4', '0.6', '0.8', '1']);
    const loss = niceAxis(0.312, 0.69);
    expect(loss.min).toBeLessThanOrEqual(0.312);
    expect(loss.max).toBeGreaterThanOrEqual(0.69);
    expect(loss.ticks.map((t) => formatTick(t, loss.step))).toEqual(['0.3', '0.4', '0.5', '0.6', '0.7']);
    expect(formatTick(3e-5, 1e-5)).toBe('3e-5');
    expect(formatTick(2_000_000, 500_000)).toBe('2e6');
  });

  it('widens a flat range and keeps whole-number epochs', () => {
    const flat = niceAxis(0.5, 0.5);
    expect(flat.min).toBeLessThan(0.5);
    expect(flat.max).toBeGreaterThan(0.5);
    expect(niceAxis(3, 3, { integer: true }).ticks).toEqual([2, 3, 4]);
    expect(niceAxis(1, 100, { integer: true, maxTicks: 11 }).ticks.every(Number.isInteger)).toBe(true);
  });

  it('escapes markup and quotes and drops characters XML forbids', () => {
    expect(escapeXml(`<b class="x">Tom & 'Jerry'</b>`)).toBe(
      '&lt;b class=&quot;x&quot;&gt;Tom &amp; &apos;Jerry&apos;&lt;/b&gt;',
    );
    expect(escapeXml('a\u0000b\u001Fc\uD800')).toBe('a\uFFFDb\uFFFDc\uFFFD');
  });
});

describe('lossCurveSvg', () => {
  const history = Array.from({ length: 20 }, (_, i) => ({
    epoch: i + 1,
    loss: 0.7 * Math.exp(-i / 6) + 0.2,
    valLoss: 0.7 * Math.exp(-i / 7) + 0.25,
    auc: 0.7 + 0.25 * (1 - Math.exp(-i / 5)),
    valAuc: 0.68 + 0.24 * (1 - Math.exp(-i / 5)),
  }));

  it('draws training and validation loss with a legend, plus an AUC panel when the history has AUC', () => {
    const svg = lossCurveSvg(history, 'Training history');
    expectStandaloneSvg(svg);
    const labels = texts(svg);
    for (const t of [
      'Training history',
      'Training loss',
      'Validation loss',
      'Training AUC',
      'Validation AUC',
    ]) {
      expect(labels).toContain(t);
    }
    expect(labels).toContain('Epoch');
    expect(labels).toContain('Loss');
    expect(svg.match(/<path /g)?.length).toBe(4);
  });

  it('leaves out the AUC panel when there is no AUC', () => {
    const svg = lossCurveSvg(history.map(({ epoch, loss }) => ({ epoch, loss })));
    expectStandaloneSvg(svg);
    expect(texts(svg)).not.toContain('ROC AUC');
    expect(texts(svg)).not.toContain('Validation loss');
  });

  it('handles a single epoch by drawing a marker', () => {
    const svg = lossCurveSvg([{ epoch: 1, loss: 0.69, valLoss: 0.7 }]);
    expectStandaloneSvg(svg);
    expect(svg.match(/<circle /g)?.length).toBe(2);
  });

  it('skips NaN values, breaking the line, and survives a flat loss and an all-NaN history', () => {
    const withNaN = lossCurveSvg([
      { epoch: 1, loss: 0.6, valLoss: Number.NaN, valAuc: Number.NaN },
      { epoch: 2, loss: Number.NaN, valLoss: 0.55 },
      { epoch: 3, loss: 0.5 },
      { epoch: 4, loss: 0.45, auc: 0.8 },
    ]);
    expectStandaloneSvg(withNaN);
    expect(withNaN).toContain('Training AUC');
    expectStandaloneSvg(lossCurveSvg([1, 2, 3].map((epoch) => ({ epoch, loss: 0.69 }))));
    expectStandaloneSvg(lossCurveSvg([1, 2, 3].map((epoch) => ({ epoch, loss: 0 }))));
    const empty = lossCurveSvg([{ epoch: 1, loss: Number.NaN }]);
    expectStandaloneSvg(empty);
    expect(texts(empty)).toContain('No finite values to plot');
    expectStandaloneSvg(lossCurveSvg([]));
  });

  it('escapes the title', () => {
    const svg = lossCurveSvg(history, 'Run <7> & "best"');
    expectStandaloneSvg(svg);
    expect(svg).toContain('Run &lt;7&gt; &amp; &quot;best&quot;');
  });
});

describe('rocCurveSvg', () => {
  const scores = Array.from({ length: 400 }, (_, i) => ((i * 7919) % 400) / 400);
  const labels = scores.map((s, i) => (s + ((i * 31) % 17) / 40 > 0.6 ? 1 : 0));

  it('shows the curve, the random-guess diagonal and the AUC to three decimals in the legend', () => {
    const a = auc(scores, labels);
    const svg = rocCurveSvg(rocCurve(scores, labels), a);
    expectStandaloneSvg(svg);
    expect(svg).toContain(`AUC = ${a.toFixed(3)}`);
    expect(texts(svg)).toContain('Random guess (AUC = 0.5)');
    expect(texts(svg)).toContain('False positive rate (background efficiency)');
    expect(svg).toContain('stroke-dasharray');
    expect(
      rocCurveSvg(
        [
          { fpr: 0, tpr: 0 },
          { fpr: 1, tpr: 1 },
        ],
        0.862,
      ),
    ).toContain('AUC = 0.862');
  });

  it('labels the axes 0, 0.2, …, 1', () => {
    const labels0 = texts(
      rocCurveSvg(
        [
          { fpr: 0, tpr: 0 },
          { fpr: 1, tpr: 1 },
        ],
        0.5,
      ),
    );
    for (const t of ['0', '0.2', '0.4', '0.6', '0.8', '1']) expect(labels0).toContain(t);
  });

  it('copes with a NaN AUC and NaN points', () => {
    const svg = rocCurveSvg(
      [
        { fpr: 0, tpr: 0 },
        { fpr: Number.NaN, tpr: 0.5 },
        { fpr: 1, tpr: 1 },
      ],
      Number.NaN,
    );
    expectStandaloneSvg(svg);
    expect(svg).toContain('AUC = n/a');
  });
});

describe('scoreDistributionsSvg', () => {
  const scores = Array.from({ length: 1000 }, (_, i) => (i % 100) / 100);
  const labels = scores.map((s, i) => (s + (i % 7) / 10 > 0.7 ? 1 : 0));
  const hist = scoreHistograms(scores, labels, 25);

  it('draws one step histogram per class in distinct colours with the class names in the legend', () => {
    const svg = scoreDistributionsSvg(hist, ['Background (tt̄)', 'Signal (H→ZZ)']);
    expectStandaloneSvg(svg);
    expect(texts(svg)).toContain('Background (tt̄)');
    expect(texts(svg)).toContain('Signal (H→ZZ)');
    const strokes = [...svg.matchAll(/<path d="[^"]*" fill="none" stroke="(#[0-9a-f]+)"/g)].map((m) => m[1]);
    expect(strokes).toHaveLength(2);
    expect(new Set(strokes).size).toBe(2);
    expect(texts(svg)).toContain('Classifier score');
  });

  it('escapes a <script> in a user-supplied class name', () => {
    const svg = scoreDistributionsSvg(hist, ['<script>alert("x")</script>', 'b & c']);
    expectStandaloneSvg(svg);
    expect(svg).not.toContain('<script');
    expect(svg).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(svg).toContain('b &amp; c');
  });

  it('names unnamed classes, treats NaN densities as empty bins and rejects mismatched shapes', () => {
    const svg = scoreDistributionsSvg(
      {
        edges: [0, 0.5, 1],
        density: [
          [2, 0],
          [Number.NaN, 2],
          [1, 1],
        ],
      },
      ['bkg'],
    );
    expectStandaloneSvg(svg);
    expect(texts(svg)).toEqual(expect.arrayContaining(['bkg', 'Class 1', 'Class 2']));
    expect(() => scoreDistributionsSvg({ edges: [0, 1], density: [[1, 2]] }, [])).toThrow(InvalidInputError);
    expect(() => scoreDistributionsSvg({ edges: [0], density: [] }, [])).toThrow(InvalidInputError);
  });
});

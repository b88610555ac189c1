import { describe, expect, it } from 'vitest';
import type { LoadedModel } from '../../lib/serving/engines/engine.js';
import type { ServedModel } from '../../lib/serving/model-cache.js';
import { scoreRows } from '../../lib/serving/scoring.js';

/** A two-feature model whose output is the sum of a row's features, counting its engine calls. */
function summing(): { model: ServedModel; calls: number[] } {
  const calls: number[] = [];
  const engine = {
    inputWidths: [2],
    outputs: 1,
    async predict(feeds: Float32Array[], rows: number) {
      calls.push(rows);
      return Float32Array.from({ length: rows }, (_, r) => feeds[0][2 * r] + feeds[0][2 * r + 1]);
    },
  } as unknown as LoadedModel;
  return { model: { engine, outputs: 1, width: 2 } as unknown as ServedModel, calls };
}

describe('scoreRows', () => {
  it('answers small requests of one turn with one engine call, each request its own rows', async () => {
    const { model, calls } = summing();
    const answers = await Promise.all([
      scoreRows(model, Float32Array.of(1, 2), 1),
      scoreRows(model, Float32Array.of(3, 4, 5, 6), 2),
      scoreRows(model, Float32Array.of(7, 8), 1),
    ]);
    expect(calls).toEqual([4]);
    expect(answers.map((a) => [...a])).toEqual([[3], [7, 11], [15]]);
  });

  it('joins requests that reach it from promise continuations of the same turn', async () => {
    const { model, calls } = summing();
    // as requests released together by a model-cache round reach scoring after a few awaits each
    const later = async (x: Float32Array, hops: number) => {
      for (let i = 0; i < hops; i++) await Promise.resolve();
      return scoreRows(model, x, 1);
    };
    const answers = await Promise.all([later(Float32Array.of(1, 1), 0), later(Float32Array.of(2, 2), 5)]);
    expect(calls).toEqual([2]);
    expect(answers.map((a) => a[0])).toEqual([2, 4]);
  });

  it('calls the engine again for requests of a later turn', async () => {
    const { model, calls } = summing();
    await scoreRows(model, Float32Array.of(1, 2), 1);
    await new Promise((r) => setImmediate(r));
    await scoreRows(model, Float32Array.of(1, 2), 1);
    expect(calls).toEqual([1, 1]);
  });
});

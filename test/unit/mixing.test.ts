import { describe, expect, it } from 'vitest';
import { planChunks } from '../../lib/dataset/mixing.js';

describe('proportional mixing of files into chunks', () => {
  it("reproduces MLaaS4HEP's worked example: 24,621 + 25,379 events, 4,924 + 5,076 per chunk", () => {
    const plan = planChunks([476_963, 491_653], 50_000, 10_000);
    expect(plan.eventsPerFile).toEqual([24_621, 25_379]);
    expect(plan.chunks).toHaveLength(5);
    for (const c of plan.chunks.slice(0, 4)) expect(c).toEqual([4_924, 5_076]);
    // the last chunk takes what is left, so it still totals chunk_size and each file its exact share
    expect(plan.chunks[4]).toEqual([4_925, 5_075]);
    expect(plan.total).toBe(50_000);
  });

  it('uses every event with nevts = -1, and never more events than a file has', () => {
    const plan = planChunks([1000, 10, 500], -1, 300);
    expect(plan.eventsPerFile).toEqual([1000, 10, 500]);
    const perFile = [0, 1, 2].map((f) => plan.chunks.reduce((s, c) => s + c[f], 0));
    expect(perFile).toEqual([1000, 10, 500]);
    for (const c of plan.chunks.slice(0, -1)) expect(c.reduce((a, b) => a + b, 0)).toBe(300);
    expect(plan.chunks.every((c) => c.every((x) => x >= 0))).toBe(true);
  });

  it('caps nevts at the events available', () => {
    expect(planChunks([100, 100], 1_000_000, 64).total).toBe(200);
  });
});

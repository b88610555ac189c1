/** A seeded generator (mulberry32): the same seed gives the same shuffles and splits everywhere. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Fisher–Yates shuffle of indices 0..n-1 in place. */
export function shuffleInPlace(idx: Int32Array | number[], random: () => number): void {
  for (let i = idx.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = idx[i];
    idx[i] = idx[j];
    idx[j] = t;
  }
}

/** Mixes a seed with a number (a chunk index, a purpose) into another well-spread seed. */
export function deriveSeed(seed: number, ...salt: number[]): number {
  let h = seed >>> 0;
  for (const s of salt) {
    h = Math.imul(h ^ (s + 0x9e3779b9), 0x85ebca6b) >>> 0;
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
  }
  return h;
}

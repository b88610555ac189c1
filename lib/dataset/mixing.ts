import { InvalidInputError } from '../errors.js';

/** How many events each chunk takes from each file. */
export interface ChunkPlan {
  /** events used from each file over the whole dataset */
  eventsPerFile: number[];
  /** chunks[c][f]: events chunk c takes from file f */
  chunks: number[][];
  total: number;
}

/**
 * MLaaS4HEP's proportional mixing: file f contributes round(n_f / N * nevts) events in all and
 * round(events_f / nevts * chunk_size) per chunk, the last file topped up so a chunk totals
 * chunk_size. Unlike the original (whose last chunk came out one event short), the last chunk takes
 * exactly what is left of every file, so each file contributes exactly its share.
 */
export function planChunks(available: readonly number[], nevts: number, chunkSize: number): ChunkPlan {
  if (available.length === 0) throw new InvalidInputError('no files to mix');
  if (!Number.isInteger(chunkSize) || chunkSize < 1)
    throw new InvalidInputError('chunk_size must be a positive whole number');
  const n = available.reduce((a, b) => a + b, 0);
  const target = nevts === -1 ? n : Math.min(nevts, n);
  const last = available.length - 1;
  const events = available.map((a) => (n === 0 ? 0 : Math.round((a / n) * target)));
  events[last] = Math.min(
    available[last],
    Math.max(0, target - events.slice(0, last).reduce((a, b) => a + b, 0)),
  );
  const total = events.reduce((a, b) => a + b, 0);
  if (total === 0) return { eventsPerFile: events, chunks: [], total };

  const quota = events.map((e) => Math.round((e / total) * chunkSize));
  quota[last] = Math.max(0, chunkSize - quota.slice(0, last).reduce((a, b) => a + b, 0));
  const remaining = [...events];
  const chunks: number[][] = [];
  const nchunks = Math.ceil(total / chunkSize);
  for (let c = 0; c < nchunks; c++) {
    let take: number[];
    if (c === nchunks - 1) take = [...remaining];
    else {
      take = quota.map((q, f) => Math.min(q, remaining[f]));
      // a file that ran out early is replaced by the others, last file first
      let missing = chunkSize - take.reduce((a, b) => a + b, 0);
      for (let f = last; f >= 0 && missing > 0; f--) {
        const extra = Math.min(missing, remaining[f] - take[f]);
        take[f] += extra;
        missing -= extra;
      }
    }
    take.forEach((t, f) => {
      remaining[f] -= t;
    });
    chunks.push(take);
  }
  return { eventsPerFile: events, chunks, total };
}

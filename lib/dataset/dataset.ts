import { InvalidInputError } from '../errors.js';
import type { EntrySource } from '../root/entry-source.js';
import type { RootFile } from '../root/file.js';
import type { SpecsCache } from './cache.js';
import type { NumericArray } from './columns.js';
import { type ColumnEncoding, columnEncoding, constantColumns, type EncodingKind } from './encoding.js';
import { type FeatureLayout, featureLayout, featureRows, type TransformCounters } from './features.js';
import { type ChunkPlan, planChunks } from './mixing.js';
import { compilePreproc, type Preprocessing } from './preproc.js';
import { deriveSeed, seededRandom, shuffleInPlace } from './random.js';
import { type Selection, selectBranches } from './selection.js';
import {
  type FileSpecs,
  fileSpecs,
  type GlobalSpecs,
  mergeSpecs,
  type Preprocessed,
  preprocessed,
  specsKey,
} from './specs.js';
import { assignSplit } from './split.js';
import type { Workflow } from './workflow.js';

/** I/O the dataset needs, injected so this layer stays free of AWS and network code. */
export interface DatasetDeps {
  openFile(spec: string): Promise<RootFile>;
  /** expands a folder spec (ending in "/") into the .root files under it */
  listFolder?(spec: string): Promise<string[]>;
  cache?: SpecsCache;
  /** entries read per step from each file (default: chunk_size, at most 100,000) */
  readStep?: number;
  /** files a workflow may name, folders expanded (the deployment's MLAAS4HEP_MAX_FILES); none by default */
  maxFiles?: number;
}

/** One chunk of training data: row-major features, a class index per row, and each row's split. */
export interface DatasetChunk {
  index: number;
  rows: number;
  width: number;
  x: Float32Array;
  y: Float32Array;
  /** 0 train, 1 validation, 2 test (see split.ts) */
  parts: Uint8Array;
  /** the seeded shuffle of the rows (identity when params.shuffle is false); rows stay in file order */
  order: Int32Array;
  /** rows taken from each file */
  perFile: number[];
  /** where each row comes from: its file (index into Dataset.files) and entry number there */
  file: Uint16Array;
  entry: Float64Array;
}

export interface Dataset {
  readonly workflow: Workflow;
  readonly files: string[];
  readonly specs: GlobalSpecs;
  readonly selection: Selection;
  readonly layout: FeatureLayout;
  readonly plan: ChunkPlan;
  /** class names or values, in class-index order */
  readonly classes: Array<number | string>;
  readonly counters: TransformCounters;
  /** how raw values become features (params.encoding), and its shift and scale per value column */
  readonly encoding: EncodingKind;
  readonly columns: ColumnEncoding;
  /** what the job's log should tell the physicist about the data (constant features, NaN/Inf seen) */
  readonly warnings: string[];
  chunks(): AsyncGenerator<DatasetChunk>;
  close(): Promise<void>;
}

async function expand(files: string[], deps: DatasetDeps): Promise<string[]> {
  const out: string[] = [];
  for (const f of files) {
    if (!f.endsWith('/')) out.push(f);
    else {
      if (!deps.listFolder) throw new InvalidInputError(`folders are not supported here: "${f}"`);
      const found = (await deps.listFolder(f)).filter((k) => k.endsWith('.root')).sort();
      if (!found.length) throw new InvalidInputError(`no .root files under "${f}"`);
      out.push(...found);
    }
    // a folder can hold far more files than a workflow may name: checked before any is opened
    if (deps.maxFiles !== undefined && out.length > deps.maxFiles)
      throw new InvalidInputError(
        `the workflow's files and folders hold more than ${deps.maxFiles} files, this service's limit (MLAAS4HEP_MAX_FILES)`,
      );
  }
  return out;
}

/** Classes in a stable order: sorted numbers or names, so "background" < "signal" and 0 < 1. */
function classesOf(w: Workflow, specs: GlobalSpecs): Array<number | string> {
  const values = Array.isArray(w.labels) ? w.labels : specs.files.flatMap((f) => f.labelValues ?? []);
  const unique = [...new Set<number | string>(values)];
  if (unique.some((v) => typeof v === 'string') && unique.some((v) => typeof v === 'number')) {
    throw new InvalidInputError('labels: use either numbers or class names, not both');
  }
  return unique.sort((a, b) =>
    typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b)),
  );
}

/** Entry numbers in the file of the events that passed the cuts. */
export function entryNumbers(entryStart: number, events: number, mask?: Uint8Array): Float64Array {
  const out = new Float64Array(events);
  if (mask) {
    for (let i = 0, j = 0; i < mask.length; i++) if (mask[i]) out[j++] = entryStart + i;
  } else for (let i = 0; i < events; i++) out[i] = entryStart + i;
  return out;
}

/** Reads one file's events after cuts as feature rows, block by block, handing out exactly what is asked. */
class FileCursor {
  private readonly gen: AsyncGenerator<Preprocessed>;
  private block: { x: Float32Array; y: Float32Array; e: Float64Array; n: number; at: number } | undefined;

  constructor(
    tree: EntrySource,
    private readonly ds: {
      selection: Selection;
      pre: Preprocessing;
      layout: FeatureLayout;
      enc: ColumnEncoding;
      counters: TransformCounters;
    },
    private readonly label: (values: NumericArray | undefined, n: number) => Float32Array,
    step: number,
  ) {
    this.gen = preprocessed(tree, ds.selection, ds.pre, step);
  }

  async take(q: number, width: number): Promise<{ x: Float32Array; y: Float32Array; e: Float64Array }> {
    const x = new Float32Array(q * width);
    const y = new Float32Array(q);
    const e = new Float64Array(q);
    let got = 0;
    while (got < q) {
      if (!this.block || this.block.at === this.block.n) {
        const next = await this.gen.next();
        if (next.done)
          throw new InvalidInputError('a file ended before its planned events were read; was it modified?');
        const { columns, events, mask, entryStart } = next.value;
        const rows = featureRows(columns, events, this.ds.layout, this.ds.enc, this.ds.counters);
        const lb = this.ds.selection.labelBranch;
        this.block = {
          x: rows,
          y: this.label(lb ? columns[lb].values : undefined, events),
          e: entryNumbers(entryStart, events, mask),
          n: events,
          at: 0,
        };
        continue;
      }
      const b = this.block;
      const m = Math.min(q - got, b.n - b.at);
      x.set(b.x.subarray(b.at * width, (b.at + m) * width), got * width);
      y.set(b.y.subarray(b.at, b.at + m), got);
      e.set(b.e.subarray(b.at, b.at + m), got);
      b.at += m;
      got += m;
    }
    return { x, y, e };
  }

  async close(): Promise<void> {
    await this.gen.return(undefined);
  }
}

/**
 * The MLaaS4HEP algorithm: a first pass per file for specs (cached by content and selection), then
 * chunks mixed from every file in proportion, features normalised and padded, labels per file.
 */
export async function prepareDataset(w: Workflow, deps: DatasetDeps): Promise<Dataset> {
  const files = await expand(w.files, deps);
  const opened: RootFile[] = [];
  try {
    for (const f of files) opened.push(await deps.openFile(f));
    const trees = await Promise.all(opened.map((f) => f.entrySource(w.params.branch)));
    const pre = compilePreproc(
      w.preproc,
      trees[0].branches.map((b) => b.name),
    );
    const selection = selectBranches(trees[0], w, pre);
    for (const t of trees.slice(1)) selectBranches(t, w, pre);
    const step = deps.readStep ?? Math.min(100_000, w.params.chunk_size);
    const fileList: FileSpecs[] = [];
    for (const [i, t] of trees.entries()) {
      const fp = await opened[i].source.fingerprint();
      const key = specsKey({
        kind: 'file',
        tree: t.name,
        fingerprints: [fp],
        sources: [files[i]],
        selection,
        preproc: w.preproc,
      });
      let fs = (await deps.cache?.get(key)) as FileSpecs | undefined;
      if (!fs) {
        fs = await fileSpecs(t, selection, pre, step);
        await deps.cache?.put(key, fs);
      }
      fileList.push(fs);
    }
    const globalKey = specsKey({
      kind: 'global',
      tree: w.params.branch,
      fingerprints: fileList.map((f) => f.fingerprint),
      sources: files,
      selection,
      preproc: w.preproc,
    });
    const specs = mergeSpecs(globalKey, w.params.branch, fileList);
    await deps.cache?.put(globalKey, specs);
    const layout = featureLayout(
      Object.fromEntries(selection.features.map((f) => [f, specs.branches[f]])),
      w.params.mask,
    );
    const encoding = w.params.encoding;
    const enc = columnEncoding(layout, specs.branches, encoding);
    const warnings: string[] = [];
    const constant = encoding === 'standard' ? constantColumns(layout, enc) : [];
    if (constant.length)
      warnings.push(
        `${constant.length} feature(s) do not vary in these files and are kept at 0: ${constant.slice(0, 20).join(', ')}${constant.length > 20 ? ', ...' : ''}`,
      );
    for (const f of selection.features) {
      const bad = specs.branches[f].nonFinite ?? 0;
      if (bad) warnings.push(`"${f}" has ${bad} NaN or infinite value(s): they are treated as missing`);
    }
    const classes = classesOf(w, specs);
    const plan = planChunks(
      fileList.map((f) => f.events),
      w.params.nevts,
      w.params.chunk_size,
    );
    const counters: TransformCounters = { truncatedEvents: 0, nonFinite: 0 };
    const ds = { selection, pre, layout, enc, counters };

    const labelFor = (fileIndex: number) => {
      if (Array.isArray(w.labels)) {
        const cls = classes.indexOf(w.labels[fileIndex]);
        return (_v: NumericArray | undefined, n: number) => new Float32Array(n).fill(cls);
      }
      const index = new Map(classes.map((c, i) => [c, i]));
      return (v: NumericArray | undefined, n: number) =>
        Float32Array.from({ length: n }, (_, i) => index.get(v![i]) ?? -1);
    };

    async function* chunks(): AsyncGenerator<DatasetChunk> {
      const width = layout.names.length;
      const cursors = trees.map((t, i) => new FileCursor(t, ds, labelFor(i), step));
      try {
        for (const [c, perFile] of plan.chunks.entries()) {
          const rows = perFile.reduce((a, b) => a + b, 0);
          const x = new Float32Array(rows * width);
          const y = new Float32Array(rows);
          const entry = new Float64Array(rows);
          const file = new Uint16Array(rows);
          let at = 0;
          for (const [f, q] of perFile.entries()) {
            if (!q) continue;
            const part = await cursors[f].take(q, width);
            x.set(part.x, at * width);
            y.set(part.y, at);
            entry.set(part.e, at);
            file.fill(f, at, at + q);
            at += q;
          }
          // the seeded shuffle is a permutation, applied by whoever gathers rows (training
          // gathers each split anyway), rather than a copy of the whole chunk here
          const order = Int32Array.from({ length: rows }, (_, i) => i);
          if (w.params.shuffle) shuffleInPlace(order, seededRandom(deriveSeed(w.params.seed, c, 1)));
          const parts = assignSplit(y, w.params.split, deriveSeed(w.params.seed, c, 2));
          yield { index: c, rows, width, x, y, parts, perFile, entry, file, order };
        }
      } finally {
        await Promise.all(cursors.map((cur) => cur.close()));
      }
    }

    return {
      workflow: w,
      files,
      specs,
      selection,
      layout,
      plan,
      classes,
      counters,
      encoding,
      columns: enc,
      warnings,
      chunks,
      close: async () => {
        await Promise.all(opened.map((f) => f.close()));
      },
    };
  } catch (err) {
    await Promise.all(opened.map((f) => f.close().catch(() => {})));
    throw err;
  }
}

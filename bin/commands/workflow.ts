import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { DirectorySpecsCache } from '../../lib/dataset/cache.js';
import { type Dataset, type DatasetDeps, prepareDataset } from '../../lib/dataset/dataset.js';
import { parseWorkflow, type Workflow } from '../../lib/dataset/workflow.js';
import { InvalidInputError } from '../../lib/errors.js';
import {
  guardDataset,
  privateHostCheck,
  type SourcePolicy,
  sourcePolicy,
} from '../../lib/jobs/source-policy.js';
import { allowedSourcesFromEnv } from '../../lib/jobs/submit.js';
import { openRoot } from '../../lib/root/index.js';
import { listRootFiles } from '../../lib/root/source/folder.js';
import { sourceOptions } from './args.js';

/** Reads a workflow JSON file; relative file paths in it are taken from the workflow's own folder. */
export async function loadWorkflow(path: string): Promise<Workflow> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new InvalidInputError(`cannot read the workflow file "${path}"`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new InvalidInputError(`the workflow file "${path}" is not valid JSON: ${(err as Error).message}`);
  }
  const w = parseWorkflow(doc);
  const base = dirname(resolve(path));
  const local = (f: string) => !/^[a-z][a-z0-9+.-]*:\/\//i.test(f) && !isAbsolute(f);
  return {
    ...w,
    files: w.files.map((f) => (local(f) ? `${join(base, f)}${f.endsWith('/') ? '/' : ''}` : f)),
  };
}

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'mlaas4hep', 'specs');
}

/**
 * The CLI's I/O for datasets: local, HTTP and S3 files, and a specs cache on disk. With a `policy`
 * (a trainer serving other people's workflows) every file is checked against it as it is opened and
 * every remote host before it is contacted.
 */
export function datasetDeps(policy?: SourcePolicy): DatasetDeps {
  const options = { ...sourceOptions(), checkHost: policy?.checkHost };
  const deps: DatasetDeps = {
    openFile: (spec) => openRoot(spec, options),
    listFolder: (spec) => listRootFiles(spec, options),
    cache: new DirectorySpecsCache(cacheDir()),
  };
  return policy ? guardDataset(deps, policy) : deps;
}

/**
 * A trainer's dataset I/O (run-job, worker): MLAAS4HEP_ALLOWED_SOURCES when set (serve sets it for
 * the trainers it starts), and loopback, private and link-local hosts refused unless it names them.
 */
export function trainerDatasetDeps(env: NodeJS.ProcessEnv = process.env): DatasetDeps {
  const allowed = allowedSourcesFromEnv(env);
  if (allowed) return datasetDeps(sourcePolicy(allowed));
  const checkHost = privateHostCheck();
  return datasetDeps({ allowed: [], checkSources: async () => {}, checkHost });
}

export function openDataset(w: Workflow): Promise<Dataset> {
  return prepareDataset(w, datasetDeps());
}

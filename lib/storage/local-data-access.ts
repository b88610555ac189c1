import { join } from 'node:path';
import type { DataAccess } from '../data/files.js';
import { openRoot } from '../root/index.js';
import { checkKey } from './object-store.js';

/**
 * Training data in a local folder (`mlaas4hep serve --store DIR`): workflows name files by their
 * path; there is no presigning, so the console says to copy files into DIR/data instead.
 */
export function localDataAccess(root: string): DataAccess {
  return {
    sourceOf: (key) => join(root, ...checkKey(key).split('/')),
    openFile: (source) => openRoot(source),
  };
}

import { z } from 'zod';
import { InvalidInputError, MlaasError, PayloadTooLargeError, UnprocessableError } from '../errors.js';
import type { RootFile } from '../root/index.js';
import type { ObjectStore } from '../storage/object-store.js';

/**
 * Training data as the console sees it: the .root files under data/ and incoming/ of the
 * deployment's store, their trees and branches, and upload URLs for new ones. Storage-specific
 * pieces (how a key is named in a workflow, presigning, opening a file) come from a DataAccess.
 */
export interface DataAccess {
  /** what a workflow names the object under `key` (s3://bucket/key, or a local path) */
  sourceOf(key: string): string;
  /** a URL the browser PUTs exactly `bytes` bytes to; absent where the store cannot presign */
  presignPut?(key: string, bytes: number): Promise<PresignedPut>;
  openFile(source: string): Promise<RootFile>;
}

export interface PresignedPut {
  url: string;
  /** headers the PUT must carry as signed */
  headers: Record<string, string>;
  expiresIn: number;
}

export const AREAS = ['data', 'incoming'] as const;

export interface DataFile {
  /** the name to put in a workflow's "files" */
  source: string;
  key: string;
  area: (typeof AREAS)[number];
  size: number;
}

/** The .root files under data/ and incoming/ that the deployment's allow-list lets a workflow read. */
export async function listDataFiles(
  store: ObjectStore,
  access: DataAccess,
  readable: (source: string) => boolean | Promise<boolean>,
): Promise<DataFile[]> {
  const out: DataFile[] = [];
  for (const area of AREAS) {
    for (const o of await store.list(`${area}/`)) {
      if (!o.key.endsWith('.root')) continue;
      const source = access.sourceOf(o.key);
      if (await readable(source)) out.push({ source, key: o.key, area, size: o.size });
    }
  }
  return out;
}

export interface TreeBranches {
  name: string;
  kind: 'TTree' | 'RNTuple';
  entries: number;
  branches: Array<{ name: string; type: string; shape: string; readable: boolean; why?: string }>;
}

/** The trees (and RNTuples) of one file with their branches and types: what a workflow may select. */
export async function inspectSource(access: DataAccess, source: string): Promise<TreeBranches[]> {
  let file: RootFile;
  try {
    file = await access.openFile(source);
  } catch (err) {
    if (err instanceof MlaasError) throw err;
    throw new UnprocessableError(`cannot open "${source}" as a ROOT file: ${(err as Error).message}`);
  }
  try {
    const out: TreeBranches[] = [];
    const kinds = [
      ['TTree', file.treeNames()],
      ['RNTuple', file.rntupleNames()],
    ] as const;
    for (const [kind, names] of kinds) {
      for (const name of names) {
        const t = await file.entrySource(name);
        out.push({
          name,
          kind,
          entries: t.entries,
          branches: t.branches.map((b) => ({
            name: b.name,
            type: b.typeName,
            shape: b.shape,
            readable: !b.unsupported,
            ...(b.unsupported ? { why: b.unsupported } : {}),
          })),
        });
      }
    }
    return out;
  } finally {
    await file.close();
  }
}

const UploadRequest = z
  .object({
    area: z.enum(AREAS),
    name: z
      .string()
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}\.root$/,
        'a file name ending in .root (letters, digits, . _ -)',
      ),
    bytes: z.number().int().positive(),
  })
  .strict();

export interface UploadTicket extends PresignedPut {
  key: string;
  source: string;
  maxBytes: number;
}

/**
 * An upload URL for one .root file, under the caller's own folder of data/ or incoming/
 * (`<area>/<sub>/<name>`), for exactly the declared size, which must be within `maxBytes`.
 */
export async function uploadTicket(
  access: DataAccess,
  sub: string,
  body: unknown,
  maxBytes: number,
): Promise<UploadTicket> {
  const parsed = UploadRequest.safeParse(body);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new InvalidInputError(`upload: ${i.path.join('.') || 'body'}: ${i.message}`);
  }
  const r = parsed.data;
  if (r.bytes > maxBytes)
    throw new PayloadTooLargeError(
      `upload: ${r.name} has ${r.bytes} bytes; uploads are limited to ${maxBytes} bytes (MLAAS4HEP_MAX_DATA_UPLOAD_BYTES)`,
    );
  if (!access.presignPut)
    throw new UnprocessableError(
      'this deployment stores data in a local folder: copy files into its data/ folder instead of uploading',
      'UploadsUnsupported',
    );
  const folder = sub.replace(/[^A-Za-z0-9._@=+-]/g, '_');
  const key = `${r.area}/${folder}/${r.name}`;
  const put = await access.presignPut(key, r.bytes);
  return { ...put, key, source: access.sourceOf(key), maxBytes };
}

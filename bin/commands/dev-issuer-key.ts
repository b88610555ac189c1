import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createDevIssuer, type DevIssuer } from '../../lib/auth/dev-issuer.js';
import { InvalidInputError } from '../../lib/errors.js';

/** The development issuer's private key, in the folder of the stack that accepts its tokens. */
export const DEV_KEY_FILE = 'dev-issuer-key.pem';

/** Where `npm start` (the local stack) and `serve --dev` keep their key, by default. */
export const DEV_KEY_DIRS = ['./mlaas4hep-local', './mlaas4hep-data'] as const;

/**
 * The development issuer kept in `dir`: the key already there (tokens minted before a restart
 * still verify), or a new one written there, readable by its owner only. `mlaas4hep token` mints
 * from the same file.
 */
export async function keptDevIssuer(dir: string): Promise<DevIssuer> {
  const file = join(dir, DEV_KEY_FILE);
  const pem = await readFile(file, 'utf8').catch(() => undefined);
  const dev = createDevIssuer(undefined, undefined, pem);
  if (!pem) {
    await mkdir(dir, { recursive: true });
    await writeFile(file, dev.privateKeyPem, { mode: 0o600 });
  }
  return dev;
}

/**
 * The issuer `mlaas4hep token` mints from: the one in `dir`, or else the most recently started of
 * the local stack's (./mlaas4hep-local) and `serve --dev`'s (./mlaas4hep-data).
 */
export async function findDevIssuer(
  dir?: string,
  defaults: readonly string[] = DEV_KEY_DIRS,
): Promise<DevIssuer> {
  const dirs = dir ? [dir] : [...defaults];
  const found = await Promise.all(
    dirs.map(async (d) => {
      const file = join(d, DEV_KEY_FILE);
      const st = await stat(file).catch(() => undefined);
      return st ? { file, mtime: st.mtimeMs } : undefined;
    }),
  );
  const newest = found
    .filter((f): f is { file: string; mtime: number } => f !== undefined)
    .sort((a, b) => b.mtime - a.mtime)[0];
  if (!newest)
    throw new InvalidInputError(
      `no development issuer in ${dirs.join(' or ')}: start the local stack (npm start) or \`mlaas4hep serve --dev\` first, or name its folder with --data`,
    );
  return createDevIssuer(undefined, undefined, await readFile(newest.file, 'utf8'));
}

/** A token to start with, and how to get more (the key stays in `keyDir` across restarts). */
export function devTokenLines(issuer: DevIssuer, keyDir: string): string {
  const token = issuer.mintToken({ sub: 'dev', scopes: ['submit', 'predict', 'admin'] });
  return `development token (submit, predict, admin; 1 h):\n${token}\nmore: mlaas4hep token --data ${keyDir} --scope submit,predict [--sub NAME]\n`;
}

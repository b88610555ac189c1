import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Whether WABT's wat2wasm is installed (Debian `wabt`; CI installs it, the tests that need it skip without). */
export const hasWat2wasm = (() => {
  try {
    execFileSync('wat2wasm', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** The module wat2wasm compiles `watPath` (relative to the repository) to. */
export function compileWat(watPath: string): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'mlaas4hep-wat-'));
  try {
    execFileSync('wat2wasm', [watPath, '-o', join(dir, 'module.wasm')]);
    return readFileSync(join(dir, 'module.wasm'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

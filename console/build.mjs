// Builds the web console into dist/console: one ES module bundle (Preact, uPlot and our pages), its
// CSS and index.html; nothing is fetched from elsewhere at run time. Prints the gzipped size, which
// test/unit/console-build.test.ts holds under the budget stated in README ("Web console").
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * Writes the console into `outDir` (default dist/console of the repository); returns where, and the
 * gzipped bytes of what a browser loads (index.html, app.js, app.css).
 */
export async function buildConsole({ outDir, minify = true } = {}) {
  const root = join(here, '..');
  const out = outDir ?? join(root, 'dist', 'console');
  await mkdir(out, { recursive: true });
  await build({
    entryPoints: [join(here, 'src', 'main.tsx')],
    outfile: join(out, 'app.js'),
    bundle: true,
    format: 'esm',
    target: 'es2022',
    minify,
    sourcemap: false,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    legalComments: 'none',
    logLevel: 'warning',
  });
  const css = [
    await readFile(join(root, 'node_modules', 'uplot', 'dist', 'uPlot.min.css'), 'utf8'),
    await readFile(join(here, 'app.css'), 'utf8'),
  ].join('\n');
  await writeFile(join(out, 'app.css'), css);
  await copyFile(join(here, 'index.html'), join(out, 'index.html'));
  let gz = 0;
  for (const f of ['index.html', 'app.js', 'app.css']) gz += gzipSync(await readFile(join(out, f))).length;
  return { dir: out, gzippedBytes: gz };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { dir, gzippedBytes } = await buildConsole();
  process.stdout.write(`console built in ${dir}: ${(gzippedBytes / 1024).toFixed(1)} KiB gzipped\n`);
}

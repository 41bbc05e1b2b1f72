// Bundles every action under src/<action>/index.ts into dist/<action>/index.js with ncc:
// minified, with a source map and the third-party licenses, one self-contained file per action.
// Usage: node scripts/build.mjs [action ...]   (default: all actions)
import ncc from '@vercel/ncc';
import { minify } from 'terser';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyPatches } from './patch-deps.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

async function actionNames() {
  const entries = await readdir(path.join(root, 'src'), { withFileTypes: true });
  return entries
    .filter(e => e.isDirectory() && e.name !== 'lib')
    .map(e => e.name)
    .sort();
}

// ncc minifies only the entry file. Chunks split off by a dynamic import() (the lazily loaded
// @kubernetes/client-node, ~20 MB as emitted) are minified here; their source maps (~21 MB each,
// and wrong once minified) are dropped, while the entry keeps its map.
const isLazyChunk = file => /^\d+\.index\.js$/.test(file);
const isLazyChunkMap = file => /^\d+\.index\.js\.map$/.test(file);

async function minifyLazyChunk(file, source) {
  if (!isLazyChunk(file)) return source;
  const { code } = await minify(source.toString(), {
    module: true,
    compress: { passes: 1 },
    mangle: true
  });
  return code;
}

async function bundle(name) {
  const started = Date.now();
  const { code, map, assets } = await ncc(path.join(root, 'src', name, 'index.ts'), {
    minify: true,
    sourceMap: true,
    sourceMapRegister: false,
    license: 'licenses.txt',
    quiet: true,
    cache: false
  });
  const outDir = path.join(root, 'dist', name);
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  await writeFile(path.join(outDir, 'index.js'), code);
  await writeFile(path.join(outDir, 'index.js.map'), map);
  for (const [file, asset] of Object.entries(assets)) {
    if (isLazyChunkMap(file, assets)) continue;
    await mkdir(path.dirname(path.join(outDir, file)), { recursive: true });
    await writeFile(path.join(outDir, file), await minifyLazyChunk(file, asset.source));
  }
  const kib = (Buffer.byteLength(code) / 1024).toFixed(0);
  console.log(`dist/${name}/index.js  ${kib} KiB  (${Date.now() - started} ms)`);
}

const requested = process.argv.slice(2);
const names = requested.length > 0 ? requested : await actionNames();
// Drop bundles of actions that no longer exist, so dist/ is exactly what src/ produces.
const existing = await readdir(path.join(root, 'dist')).catch(() => []);
if (requested.length === 0)
  for (const stale of existing.filter(n => !names.includes(n)))
    await rm(path.join(root, 'dist', stale), { recursive: true, force: true });
await applyPatches(root);
for (const name of names) await bundle(name);

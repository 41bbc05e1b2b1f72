// npm run bench [-- --quick] [-- --only name,...]
// Runs every bench/*.mjs module that exports a default `async ({ root, runs, quick }) => result[]`
// and writes bench/results.json and bench/results.md. Each result is
// { key, ratio, goal, a: {label, medianMs}, b: {label, medianMs}, ... } with ratio = a / b.
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const quick = process.argv.includes('--quick');
const onlyArg = process.argv.find(arg => arg.startsWith('--only='));
const only = onlyArg ? onlyArg.slice('--only='.length).split(',') : undefined;
const runs = quick ? 5 : 9;

const modules = readdirSync(here)
  .filter(file => file.endsWith('.mjs') && !['lib.mjs', 'run.mjs'].includes(file))
  .sort();

const results = [];
for (const file of modules) {
  const mod = await import(pathToFileURL(path.join(here, file)).href);
  if (typeof mod.default !== 'function') continue;
  const name = mod.name ?? path.basename(file, '.mjs');
  if (only && !only.includes(name)) continue;
  console.log(`bench: ${name} (${runs} runs)`);
  for (const result of await mod.default({ root, runs, quick })) {
    results.push(result);
    console.log(
      `  ${result.key}: ${result.ratio.toFixed(3)}x (goal <= ${result.goal}x)  ${result.a.label} ${result.a.medianMs} ms vs ${result.b.label} ${result.b.medianMs} ms`
    );
  }
}

// The headline figures the README quotes: cold_start_max is the slowest bundle's ratio and
// setup_cache the worse of buildctl's and helm's tool-cache figures.
const ratios = Object.fromEntries(results.map(r => [r.key, Number(r.ratio.toFixed(3))]));
for (const [headline, prefix] of [
  ['cold_start_max', 'cold_start_'],
  ['setup_cache', 'setup_cache_']
]) {
  const parts = results.filter(r => r.key.startsWith(prefix));
  if (parts.length > 0) ratios[headline] = Number(Math.max(...parts.map(r => r.ratio)).toFixed(3));
}
const report = {
  ratios,
  runs,
  quick,
  date: new Date().toISOString(),
  node: process.version,
  results
};
writeFileSync(path.join(here, 'results.json'), `${JSON.stringify(report, null, 2)}\n`);

const table = [
  '| Figure | Ratio | Goal | A (median) | B (median) |',
  '| --- | --- | --- | --- | --- |',
  ...results.map(
    r =>
      `| \`${r.key}\` | ${r.ratio.toFixed(3)}× | ≤ ${r.goal}× | ${r.a.label}: ${r.a.medianMs} ms | ${r.b.label}: ${r.b.medianMs} ms${r.overheadMs !== undefined ? ` (fixed cost ${r.overheadMs} ms)` : ''} |`
  )
];
writeFileSync(path.join(here, 'results.md'), `${table.join('\n')}\n`);
const missed = results.filter(r => r.ratio > r.goal);
console.log(
  missed.length
    ? `bench: goals missed: ${missed.map(r => r.key).join(', ')}`
    : 'bench: every goal met'
);

// npm run bench [-- --quick] [-- --only name,...]
// Runs every bench/*.mjs module that exports a default `async ({ root, runs, quick }) => result[]`
// and writes bench/results.json and bench/results.md. Each result is
// { key, ratio, goal, a: {label, medianMs}, b: {label, medianMs}, ... } with ratio = a / b.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
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

// Issue 20's goals for the fixed cost each action adds to its raw CLI doing the same work: these
// figures are judged by the difference, not by their ratio (a ratio of a long build says little).
const OVERHEAD_GOALS_MS = { build: 50, deploy: 150, flow: 250 };

/** How a result is judged: its fixed cost in ms, its ratio, or not at all (context only). */
function goalOf(result) {
  if (result.key in OVERHEAD_GOALS_MS)
    return `fixed cost ${result.overheadMs} ms (goal <= ${OVERHEAD_GOALS_MS[result.key]} ms)`;
  return result.goal === undefined ? '(no goal)' : `(goal <= ${result.goal}x)`;
}

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
      `  ${result.key}: ${result.ratio.toFixed(3)}x ${goalOf(result)}  ${result.a.label} ${result.a.medianMs} ms vs ${result.b.label} ${result.b.medianMs} ms`
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
const overheadMs = Object.fromEntries(
  results.filter(r => r.key in OVERHEAD_GOALS_MS).map(r => [r.key, r.overheadMs])
);
const profiles = Object.fromEntries(results.filter(r => r.profile).map(r => [r.key, r.profile]));
// An action's own time read from its runs (everything but its tool's process), where a bench
// measures it: beside overhead_ms, which the tool's own noise moves.
const outsideToolMs = Object.fromEntries(
  results.filter(r => r.outsideHelmMs !== undefined).map(r => [r.key, r.outsideHelmMs])
);
// The load figure comes from the load suite (8 root-action pipelines at once vs one alone, on the
// real node), which writes it outside the tree; read when that suite ran on this machine.
const loadFile = process.env.SLIPWAY_LOAD_RESULTS ?? path.join(tmpdir(), 'slipway-load.json');
const load = existsSync(loadFile) ? JSON.parse(readFileSync(loadFile, 'utf8')) : undefined;
if (load) ratios.load_ratio = load.ratio;
const report = {
  ratios,
  overhead_ms: overheadMs,
  overhead_goals_ms: OVERHEAD_GOALS_MS,
  outside_tool_ms: outsideToolMs,
  load: load && { ...load, goal: 4, source: loadFile },
  profiles,
  runs,
  quick,
  date: new Date().toISOString(),
  node: process.version,
  results
};
writeFileSync(path.join(here, 'results.json'), `${JSON.stringify(report, null, 2)}\n`);

function tableGoal(result) {
  if (result.key in OVERHEAD_GOALS_MS) return `≤ ${OVERHEAD_GOALS_MS[result.key]} ms fixed cost`;
  return result.goal === undefined ? '—' : `≤ ${result.goal}×`;
}

const table = [
  '| Figure | Ratio | Goal | A (median) | B (median) |',
  '| --- | --- | --- | --- | --- |',
  ...results.map(
    r =>
      `| \`${r.key}\` | ${r.ratio.toFixed(3)}× | ${tableGoal(r)} | ${r.a.label}: ${r.a.medianMs} ms | ${r.b.label}: ${r.b.medianMs} ms${r.overheadMs !== undefined ? ` (fixed cost ${r.overheadMs} ms)` : ''} |`
  )
];
for (const [key, phases] of Object.entries(profiles)) {
  table.push('', `Where the time of \`${key}\` goes (median of the action's runs):`, '');
  table.push(
    '| Phase | ms |',
    '| --- | --- |',
    ...phases.map(p => `| ${p.name} | ${p.medianMs} |`)
  );
}
writeFileSync(path.join(here, 'results.md'), `${table.join('\n')}\n`);
for (const [key, ms] of Object.entries(outsideToolMs))
  console.log(`  ${key}: the action's own time (everything but its tool's process) ${ms} ms`);
for (const [key, phases] of Object.entries(profiles)) {
  console.log(`  profile of ${key}:`);
  for (const phase of phases)
    console.log(`    ${String(phase.medianMs).padStart(8)} ms  ${phase.name}`);
}
const missed = [
  ...results.filter(r => r.goal !== undefined && r.ratio > r.goal).map(r => r.key),
  ...Object.entries(overheadMs)
    .filter(([key, ms]) => ms > OVERHEAD_GOALS_MS[key])
    .map(([key, ms]) => `overhead_ms.${key} (${ms} > ${OVERHEAD_GOALS_MS[key]})`),
  ...(load && load.ratio > 4 ? [`load_ratio (${load.ratio} > 4)`] : [])
];
console.log(missed.length ? `bench: goals missed: ${missed.join(', ')}` : 'bench: every goal met');

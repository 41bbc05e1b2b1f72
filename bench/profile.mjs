// Per-phase profile of an action run, read from outside: every stdout line is timestamped as it
// arrives, and the action's log groups (`::group::` … `::endgroup::`, one per phase in every
// action) give the phases. What is not inside a group is named by where it falls: before the
// first line is process start + bundle evaluation + input checks; between groups is work no group
// covers (e.g. loading the Kubernetes client while helm is found); after the last group is the
// outputs, summary and exit. No instrumentation in the product: the profile is of the real bundle.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { bundleEnv, median, round } from './lib.mjs';

/** Runs one action bundle, resolving with its exit code and the timed phases of the run. */
export function profileRun(root, action, inputs, runnerDir, extraEnv = {}) {
  const env = bundleEnv(runnerDir, inputs, extraEnv);
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const now = () => Number(process.hrtime.bigint() - started) / 1e6;
    const child = spawn(process.execPath, [path.join(root, 'dist', action, 'index.js')], {
      env,
      stdio: ['ignore', 'pipe', 'pipe']
    });
    const lines = [];
    let partial = '';
    child.stdout.on('data', chunk => {
      const at = now();
      const parts = (partial + chunk).split('\n');
      partial = parts.pop();
      for (const text of parts) lines.push({ at, text });
    });
    child.stderr.resume();
    child.on('error', reject);
    child.on('close', code => resolve({ code, phases: phasesOf(lines, now()) }));
  });
}

/** The part of a group from its `[command]` line to its end: the tool's run (bench/helm-deploy.mjs). */
export const COMMAND_PHASE = 'its command';

/** Turns timestamped lines into [{ name, ms }]: the groups and the time around them. */
export function phasesOf(lines, endMs) {
  const phases = [];
  let cursor = 0;
  let open;
  let betweenCount = 0;
  const first = lines.find(line => !line.text.startsWith('::debug::'));
  if (first) {
    phases.push({ name: '(process start, bundle, inputs: to the first log line)', ms: first.at });
    cursor = first.at;
  }
  for (const line of lines) {
    if (line.text.startsWith('::group::')) {
      if (line.at > cursor && open === undefined && phases.length > 1)
        phases.push({ name: `(between groups ${++betweenCount})`, ms: line.at - cursor });
      open = { name: normalise(line.text.slice('::group::'.length)), at: line.at };
    } else if (line.text.startsWith('[command]') && open && open.commandAt === undefined) {
      // A group that runs a tool splits at its (first) command line: the action's own work
      // before the tool starts, then the tool's run as the action sees it.
      open.commandAt = line.at;
    } else if (line.text.startsWith('::endgroup::') && open) {
      if (open.commandAt === undefined) phases.push({ name: open.name, ms: line.at - open.at });
      else
        phases.push(
          { name: `${open.name}: before its command`, ms: open.commandAt - open.at },
          { name: `${open.name}: ${COMMAND_PHASE}`, ms: line.at - open.commandAt }
        );
      cursor = line.at;
      open = undefined;
    }
  }
  phases.push({ name: '(after the last group: outputs, summary, exit)', ms: endMs - cursor });
  return phases;
}

// Titles carry run-specific names (namespaces, releases, digests): keep the words that say what
// the phase is, so runs line up.
const normalise = title =>
  title
    .replace(/sha256:[0-9a-f]{12,}/g, 'sha256:…')
    .replace(/\b(bench|prof)-[a-z0-9-]+/g, '<name>')
    .replace(/\s+/g, ' ')
    .trim();

/** Medians per phase over several profiled runs, in the order phases first appeared. */
export function medianPhases(runs) {
  const order = [];
  const samples = new Map();
  for (const run of runs) {
    const seen = new Map();
    for (const phase of run) {
      // A phase name that repeats in one run (two "between groups") gets a counter already.
      const count = (seen.get(phase.name) ?? 0) + 1;
      seen.set(phase.name, count);
      const key = count > 1 ? `${phase.name} #${count}` : phase.name;
      if (!samples.has(key)) {
        samples.set(key, []);
        order.push(key);
      }
      samples.get(key).push(phase.ms);
    }
  }
  return order.map(name => ({ name, medianMs: round(median(samples.get(name))) }));
}

/** A profile as Markdown rows: phase, median ms. */
export function profileTable(title, phases) {
  return [
    `| ${title} | median ms |`,
    '| --- | --- |',
    ...phases.map(p => `| ${p.name} | ${p.medianMs} |`)
  ];
}

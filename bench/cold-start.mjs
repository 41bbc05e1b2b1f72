// Cold start of each action bundle: process start to its first log line, against `node -e 0`
// (the floor any node24 action pays). Also records each bundle's size. Goal: <= 1.8x (issue 20).
import { mkdtempSync, readdirSync, statSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { median, round, timeToFirstOutput, timeIt, runProcess } from './lib.mjs';

export const name = 'cold-start';

export default async function coldStart({ root, runs }) {
  const node = process.execPath;
  const temp = mkdtempSync(path.join(tmpdir(), 'bench-cold-'));
  const stateFile = path.join(temp, 'state');
  const results = [];
  try {
    for (const action of readdirSync(path.join(root, 'dist')).sort()) {
      const bundle = path.join(root, 'dist', action, 'index.js');
      // No inputs: every action validates first, so it logs or fails fast without touching tools.
      // That is the cold start a user pays before any real work.
      const env = {
        ...process.env,
        GITHUB_STATE: stateFile,
        RUNNER_TEMP: temp,
        GITHUB_ACTIONS: 'true'
      };
      const bundleTimes = [];
      const floorTimes = [];
      // At least 15 runs a side: a start is ~50 ms, and with five the median of either side moved
      // by 5–8 ms between runs of the same bundles (the ratio by 0.3×) after the test suite.
      for (let i = 0; i < Math.max(runs, 15) + 1; i++) {
        writeFileSync(stateFile, '');
        const bundleMs = await timeToFirstOutput(node, [bundle], { env, cwd: temp });
        const floorMs = await timeIt(() => runProcess(node, ['-e', '0']));
        if (i > 0) {
          bundleTimes.push(bundleMs);
          floorTimes.push(floorMs);
        }
      }
      results.push({
        key: `cold_start_${action.replace(/-/g, '_')}`,
        ratio: median(bundleTimes) / median(floorTimes),
        goal: 1.8,
        a: { label: `dist/${action} to first log line`, medianMs: round(median(bundleTimes)) },
        b: { label: 'node -e 0', medianMs: round(median(floorTimes)) },
        bundleKiB: Math.round(statSync(bundle).size / 1024)
      });
    }
  } finally {
    rmSync(temp, { recursive: true, force: true });
  }
  return results;
}

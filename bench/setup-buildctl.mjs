// setup-buildctl, both figures connecting to the stack's buildkitd:
//  - setup_cache_buildctl: a tool-cache hit against a cold install (download from the stack's
//    mirror, sha256 verify, extract, cache). Goal: <= 0.1x.
//  - install_buildctl: the cold install against the raw commands a workflow would run for it:
//    curl the archive and its .sha256, sha256sum, tar -xzf, buildctl debug workers.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runActionBundle, runProcess, sideBySide, stackFacts } from './lib.mjs';

export const name = 'setup-buildctl';

export default async function setupBuildctl({ root, runs }) {
  const facts = stackFacts();
  const inputs = {
    version: facts.BUILDKIT_VERSION,
    'download-url': facts.BUILDKIT_DOWNLOAD_URL,
    addr: facts.BUILDKIT_HOST
  };
  const base = mkdtempSync(path.join(tmpdir(), 'bench-setup-'));
  const warm = path.join(base, 'warm');
  let cold = '';
  // Each cold run gets an empty runner directory (an empty tool cache); the last one is removed.
  const freshDir = prefix => {
    if (cold) rmSync(cold, { recursive: true, force: true });
    cold = mkdtempSync(path.join(base, prefix));
  };
  try {
    const result = await sideBySide({
      runs,
      a: {
        label: 'tool-cache hit',
        fn: () => runActionBundle(root, 'setup-buildctl', inputs, warm)
      },
      b: {
        label: 'cold install',
        before: () => freshDir('cold-'),
        fn: () => runActionBundle(root, 'setup-buildctl', inputs, cold)
      }
    });
    const raw = await sideBySide({
      runs,
      a: {
        label: 'action, cold install',
        before: () => freshDir('cold-'),
        fn: () => runActionBundle(root, 'setup-buildctl', inputs, cold)
      },
      b: {
        label: 'raw curl + sha256sum + tar -xzf + buildctl debug workers',
        before: () => freshDir('raw-'),
        fn: () => rawInstall(facts, cold)
      }
    });
    return [
      { key: 'setup_cache_buildctl', goal: 0.1, ...result },
      { key: 'install_buildctl', goal: 1.05, ...raw }
    ];
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

/** What a workflow step without the action would run: download, verify, unpack, check. */
async function rawInstall(facts, dir) {
  const url = facts.BUILDKIT_DOWNLOAD_URL.replaceAll('{version}', facts.BUILDKIT_VERSION).replace(
    '{arch}',
    'amd64'
  );
  const archive = path.join(dir, 'buildkit.tar.gz');
  await runProcess('curl', ['-fsSL', '-o', archive, url]);
  const expected = (await runProcess('curl', ['-fsSL', `${url}.sha256`])).stdout.split(/\s/)[0];
  const actual = (await runProcess('sha256sum', [archive])).stdout.split(/\s/)[0];
  if (actual !== expected) throw new Error(`sha256 mismatch: ${actual} vs ${expected}`);
  await runProcess('tar', ['-xzf', archive, '-C', dir]);
  await runProcess(path.join(dir, 'bin', 'buildctl'), [
    '--addr',
    facts.BUILDKIT_HOST,
    'debug',
    'workers'
  ]);
}

// setup-buildctl: a tool-cache hit against a cold install (download from the stack's mirror,
// sha256 verify, extract, cache), both connecting to the stack's buildkitd. Goal: <= 0.1x.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runActionBundle, sideBySide, stackFacts } from './lib.mjs';

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
  try {
    const result = await sideBySide({
      runs,
      a: {
        label: 'tool-cache hit',
        fn: () => runActionBundle(root, 'setup-buildctl', inputs, warm)
      },
      b: {
        label: 'cold install',
        before: () => {
          if (cold) rmSync(cold, { recursive: true, force: true });
          cold = mkdtempSync(path.join(base, 'cold-'));
        },
        fn: () => runActionBundle(root, 'setup-buildctl', inputs, cold)
      }
    });
    return [{ key: 'setup_cache_buildctl', goal: 0.1, ...result }];
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { stackFact } from './stack.js';

const git = (cwd: string, args: string[]) =>
  execFileSync(
    'git',
    ['-c', 'user.name=Slipway Tests', '-c', 'user.email=tests@slipway.invalid', ...args],
    { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }
  );

/**
 * Pushes a commit that changes the sample app's image (a label in app/Dockerfile) to `branch` on
 * the stack's git server, as a developer's push would, and returns the build context URL for it.
 */
export function pushSourceChange(branch: string, change: string): string {
  const work = mkdtempSync(path.join(tmpdir(), 'sample-app-work-'));
  try {
    const remote = stackFact('SAMPLE_APP_GIT');
    git(work, ['clone', '-q', remote, '.']);
    const exists = git(work, ['ls-remote', '--heads', 'origin', branch]).trim() !== '';
    git(work, exists ? ['checkout', '-q', branch] : ['checkout', '-q', '-b', branch]);
    const dockerfile = path.join(work, 'app', 'Dockerfile');
    writeFileSync(
      dockerfile,
      `${readFileSync(dockerfile, 'utf8')}LABEL slipway.test.change="${change}"\n`
    );
    git(work, ['commit', '-q', '-am', `change ${change}`]);
    git(work, ['push', '-q', 'origin', branch]);
    return `${remote}#${branch}:app`;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

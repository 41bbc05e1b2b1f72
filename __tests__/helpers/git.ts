import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

/**
 * Pushes `files` (name → content, e.g. a Procfile and a prebuilt binary) as the directory `dir` of
 * a new commit on `branch` of the sample app's repository on the stack's git server, as a developer
 * would push source without a Dockerfile; returns a function that deletes the branch again.
 */
export function pushSourceFiles(
  branch: string,
  dir: string,
  files: Record<string, string | Buffer>
): () => void {
  const work = mkdtempSync(path.join(tmpdir(), 'sample-app-work-'));
  const remote = stackFact('SAMPLE_APP_GIT');
  try {
    git(work, ['clone', '-q', remote, '.']);
    git(work, ['checkout', '-q', '-b', branch]);
    mkdirSync(path.join(work, dir), { recursive: true });
    for (const [name, content] of Object.entries(files)) {
      writeFileSync(path.join(work, dir, name), content, { mode: 0o755 });
    }
    git(work, ['add', dir]);
    git(work, ['commit', '-q', '-m', `source in ${dir}`]);
    // One request with a Content-Length: the stack's git server (Go's CGI handler in front of
    // git http-backend) refuses chunked bodies, which git sends past its 1 MiB default buffer.
    git(work, ['-c', 'http.postBuffer=67108864', 'push', '-q', 'origin', branch]);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return () => {
    const empty = mkdtempSync(path.join(tmpdir(), 'sample-app-delete-'));
    try {
      git(empty, ['init', '-q']);
      git(empty, ['push', '-q', remote, '--delete', branch]);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  };
}

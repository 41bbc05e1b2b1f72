import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync
} from 'node:fs';
import path from 'node:path';
import { newRunnerDirs, runMain, runPost, type ActionRun } from '../helpers/action-runner.js';
import { manifestDigest } from '../helpers/registry.js';
import { stackFact } from '../helpers/stack.js';

/**
 * setup-buildctl's `addr: local` as a non-root runner user, through the real bundle run as that
 * user: users created here (one with a sudoers NOPASSWD rule, one without, one without subordinate
 * ids), buildkitd started through `sudo -n` or rootless under the stack's rootlesskit (newuidmap
 * from Debian's uidmap), a real build through it as the user, and the post step's cleanup.
 */
interface TestUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  /** A directory the user owns, with bin/ (rootlesskit) and the runner's directories. */
  base: string;
}

const users: TestUser[] = [];
const sudoers: string[] = [];

function createUser(
  name: string,
  options: { sudo?: boolean; subordinateIds?: boolean } = {}
): TestUser {
  execFileSync('useradd', [
    '--create-home',
    '--shell',
    '/bin/sh',
    ...(options.subordinateIds === false ? ['-K', 'SUB_UID_COUNT=0', '-K', 'SUB_GID_COUNT=0'] : []),
    name
  ]);
  const id = (flag: string) => Number(execFileSync('id', [flag, name], { encoding: 'utf8' }));
  const home = execFileSync('getent', ['passwd', name], { encoding: 'utf8' }).split(':')[5] ?? '';
  const base = mkdtempSync(`/tmp/slipway-${name}-`);
  chmodSync(base, 0o755);
  const user = { name, uid: id('-u'), gid: id('-g'), home, base };
  users.push(user);
  if (options.sudo) {
    const file = `/etc/sudoers.d/${name}`;
    writeFileSync(file, `${name} ALL=(ALL) NOPASSWD: ALL\n`, { mode: 0o440 });
    sudoers.push(file);
  }
  return user;
}

/** Hands `dir` (recursively) to the user. */
function chownTree(dir: string, user: TestUser): void {
  chownSync(dir, user.uid, user.gid);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const child = path.join(dir, entry.name);
    if (entry.isDirectory()) chownTree(child, user);
    else chownSync(child, user.uid, user.gid);
  }
}

/** The PATH of a runner user: the system's, plus bin/ (rootlesskit) when `withRootlesskit`. */
function userEnv(user: TestUser, withRootlesskit: boolean): Record<string, string> {
  const system = '/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin';
  return {
    HOME: user.home,
    USER: user.name,
    LOGNAME: user.name,
    PATH: withRootlesskit ? `${path.join(user.base, 'bin')}:${system}` : system,
    XDG_RUNTIME_DIR: '',
    KUBECONFIG: '',
    BUILDKIT_HOST: '',
    DOCKER_CONFIG: ''
  };
}

function setupInputs(): Record<string, string> {
  return {
    version: stackFact('BUILDKIT_VERSION'),
    'download-url': stackFact('BUILDKIT_DOWNLOAD_URL'),
    addr: 'local',
    timeout: '60s'
  };
}

/** Processes whose command line mentions `text` (the builder's private directory). */
function processesMentioning(text: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmdline.includes(text)) found.push(`${entry}: ${cmdline}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

function processOwner(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
}

/**
 * As the user: `buildctl build` of a FROM scratch image whose directory belongs to another uid
 * (state only root, or root in the user namespace, can remove), pushed to the stack's plain
 * registry.
 */
function buildAsUser(
  user: TestUser,
  main: ActionRun,
  repository: string
): { digest: string; ms: number } {
  const started = Date.now();
  const context = path.join(user.base, 'context');
  mkdirSync(path.join(context, 'files'), { recursive: true });
  writeFileSync(path.join(context, 'files', 'hello'), `${user.name}\n`);
  writeFileSync(
    path.join(context, 'Dockerfile'),
    'FROM scratch\nCOPY --chown=1234:1234 files/ /files/\n'
  );
  chownTree(context, user);
  const metadata = path.join(context, 'metadata.json');
  const result = spawnSync(
    main.outputs.path ?? 'buildctl',
    [
      '--addr',
      main.outputs.addr ?? '',
      'build',
      '--progress=plain',
      '--frontend',
      'dockerfile.v0',
      '--local',
      `context=${context}`,
      '--local',
      `dockerfile=${context}`,
      '--output',
      `type=image,name=${stackFact('REGISTRY_PLAIN')}/${repository}:1,push=true`,
      '--metadata-file',
      metadata
    ],
    {
      encoding: 'utf8',
      uid: user.uid,
      gid: user.gid,
      env: userEnv(user, false),
      cwd: context,
      timeout: 120_000
    }
  );
  expect({
    status: result.status,
    stderr: result.status ? result.stderr.slice(-2000) : ''
  }).toEqual({ status: 0, stderr: '' });
  return {
    digest: JSON.parse(readFileSync(metadata, 'utf8'))['containerimage.digest'],
    ms: Date.now() - started
  };
}

beforeAll(() => {
  // rootlesskit from the stack's tool cache, where the test users can run it (~root is private).
  const tag = `${process.pid}`;
  createUser(`nonroot-sudo-${tag}`, { sudo: true });
  createUser(`nonroot-rl-${tag}`);
  createUser(`nonroot-nomap-${tag}`, { subordinateIds: false });
  for (const user of users) {
    mkdirSync(path.join(user.base, 'bin'));
    copyFileSync(stackFact('ROOTLESSKIT'), path.join(user.base, 'bin', 'rootlesskit'));
    chmodSync(path.join(user.base, 'bin', 'rootlesskit'), 0o755);
    chownTree(user.base, user);
  }
});

afterAll(async () => {
  for (const file of sudoers) rmSync(file, { force: true });
  for (const user of users) {
    // A daemon a failed test left (its command line names the user's directory) goes first: by
    // pid, and waited for, since userdel refuses a user who still runs something.
    for (let round = 0; round < 50; round++) {
      const left = processesMentioning(user.base);
      if (left.length === 0) break;
      for (const line of left) {
        try {
          process.kill(Number(line.split(':')[0]), 'SIGKILL');
        } catch {
          // gone meanwhile
        }
      }
      await new Promise(resolve => setTimeout(resolve, 100));
    }
    const removed = spawnSync('userdel', ['--remove', user.name], { encoding: 'utf8' });
    if (removed.status !== 0 && !/mail spool/.test(removed.stderr)) {
      console.error(`userdel ${user.name}: ${removed.stderr}`);
    }
    rmSync(user.base, { recursive: true, force: true });
  }
});

const userNamed = (prefix: string): TestUser => {
  const user = users.find(u => u.name.startsWith(prefix));
  if (!user) throw new Error(`no test user ${prefix}`);
  return user;
};

describe('setup-buildctl addr: local as a non-root user', () => {
  it('with passwordless sudo: a rootful buildkitd through sudo -n, its socket the user’s group; post stops it and removes its state through sudo', async () => {
    const user = userNamed('nonroot-sudo-');
    const runner = newRunnerDirs(path.join(user.base, 'runner'));
    chownTree(path.join(user.base, 'runner'), user);
    const options = { runner, user, env: userEnv(user, false) };
    const main = await runMain('setup-buildctl', setupInputs(), options);
    expect({ code: main.exitCode, log: main.exitCode ? main.stdout.slice(-3000) : '' }).toEqual({
      code: 0,
      log: ''
    });
    const dir = main.state.setup_buildkitd_dir ?? '';
    const pid = Number(main.state.setup_buildkitd_pid);
    expect(main.state.setup_buildkitd_mode).toBe('sudo');
    expect(dir.startsWith(runner.temp)).toBe(true);
    expect(main.outputs.addr).toBe(`unix://${path.join(dir, 'buildkitd.sock')}`);
    expect(main.stdout).toContain(
      `[daemon] sudo -n -- ${path.join(main.addedPath[0] ?? '', 'buildkitd')}`
    );
    expect(main.stdout).toContain(`--group ${user.gid}`);
    expect(main.summary).toContain('started by this action, rootful through sudo');
    // The recorded pid is buildkitd itself, running as root.
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]).toMatch(/\/buildkitd$/);
    expect(processOwner(pid)).toBe(0);

    const { digest, ms } = buildAsUser(user, main, `slipway/nonroot-sudo-${process.pid}`);
    console.log(`sudo: setup-buildctl main ${main.durationMs} ms, build ${ms} ms`);
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(
      await manifestDigest(stackFact('REGISTRY_PLAIN'), `slipway/nonroot-sudo-${process.pid}`, '1')
    ).toBe(digest);
    // The builder's root is root's: the user could not remove it alone.
    expect(statSync(path.join(dir, 'root')).uid).toBe(0);

    const post = await runPost('setup-buildctl', main, {}, options);
    expect({ code: post.exitCode, log: post.exitCode ? post.stdout.slice(-3000) : '' }).toEqual({
      code: 0,
      log: ''
    });
    expect(post.stdout).toContain(`Stopped buildkitd (pid ${pid})`);
    expect(post.stdout).not.toContain('::warning::');
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect(processesMentioning(dir)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  }, 240_000);

  it('without sudo: a rootless buildkitd under rootlesskit; post stops it and removes state owned by subordinate ids', async () => {
    const user = userNamed('nonroot-rl-');
    const runner = newRunnerDirs(path.join(user.base, 'runner'));
    chownTree(path.join(user.base, 'runner'), user);
    const options = { runner, user, env: userEnv(user, true) };
    const main = await runMain('setup-buildctl', setupInputs(), options);
    expect({ code: main.exitCode, log: main.exitCode ? main.stdout.slice(-3000) : '' }).toEqual({
      code: 0,
      log: ''
    });
    expect(main.stdout).toContain('sudo -n true failed');
    const dir = main.state.setup_buildkitd_dir ?? '';
    const pid = Number(main.state.setup_buildkitd_pid);
    expect(main.state.setup_buildkitd_mode).toBe('rootless');
    expect(main.outputs.addr).toBe(`unix://${path.join(dir, 'buildkitd.sock')}`);
    expect(main.summary).toContain('started by this action, rootless through rootlesskit');
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]).toBe(
      path.join(user.base, 'bin', 'rootlesskit')
    );
    expect(processOwner(pid)).toBe(user.uid);
    // buildkitd runs as root inside a user namespace mapped from the user's subordinate ids.
    const daemons = processesMentioning(dir).filter(line => / buildkitd|\/buildkitd /.test(line));
    expect(daemons.length).toBeGreaterThan(0);

    const repository = `slipway/nonroot-rootless-${process.pid}`;
    const { digest, ms } = buildAsUser(user, main, repository);
    console.log(`rootless: setup-buildctl main ${main.durationMs} ms, build ${ms} ms`);
    expect(await manifestDigest(stackFact('REGISTRY_PLAIN'), repository, '1')).toBe(digest);
    // COPY --chown=1234 left a non-empty directory owned by a subordinate uid in the builder's
    // root: the user alone cannot empty it.
    const foreign = spawnSync(
      'find',
      [path.join(dir, 'root'), '-type', 'd', '-name', 'files', '-not', '-user', String(user.uid)],
      { encoding: 'utf8' }
    ).stdout.trim();
    expect(foreign).not.toBe('');
    const probe = spawnSync('rm', ['-rf', '--', foreign.split('\n')[0] ?? ''], {
      uid: user.uid,
      gid: user.gid,
      encoding: 'utf8'
    });
    expect(probe.stderr).toContain('Permission denied');

    const post = await runPost('setup-buildctl', main, {}, options);
    expect({ code: post.exitCode, log: post.exitCode ? post.stdout.slice(-3000) : '' }).toEqual({
      code: 0,
      log: ''
    });
    expect(post.stdout).toContain(`Stopped buildkitd (pid ${pid})`);
    expect(post.stdout).not.toContain('::warning::');
    expect(processesMentioning(dir)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
  }, 240_000);

  it('without sudo, rootlesskit or subordinate ids: fails naming each missing piece, before starting anything', async () => {
    const user = userNamed('nonroot-nomap-');
    const runner = newRunnerDirs(path.join(user.base, 'runner'));
    chownTree(path.join(user.base, 'runner'), user);
    const main = await runMain('setup-buildctl', setupInputs(), {
      runner,
      user,
      env: userEnv(user, false)
    });
    expect(main.exitCode).toBe(1);
    expect(main.stdout).toContain(
      `::error::addr: local cannot start buildkitd for ${user.name} (uid ${user.uid}): the user is not root and has no passwordless sudo, and rootless BuildKit needs what this runner lacks:`
    );
    expect(main.stdout).toContain('- rootlesskit is not on PATH: install it');
    expect(main.stdout).toContain(
      `- /etc/subuid and /etc/subgid have no range for ${user.name} (uid ${user.uid}): add one, e.g. usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${user.name}.`
    );
    expect(main.stdout).not.toContain('newuidmap');
    expect(main.state.setup_buildkitd_dir).toBeUndefined();
    expect(readdirSync(runner.temp).filter(name => name.startsWith('slipway-buildkitd-'))).toEqual(
      []
    );
  }, 120_000);
});

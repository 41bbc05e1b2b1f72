import * as core from '@actions/core';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import path from 'node:path';
import { SlipwayError } from '../lib/errors.js';
import {
  findOnPath,
  findProcess,
  isProcessAlive,
  lastLines,
  run,
  spawnDetached,
  stopProcess
} from '../lib/exec.js';
import { poll } from '../lib/retry.js';
import { tempDir } from '../lib/runner.js';
import { redact } from '../lib/secrets.js';
import { STATE } from '../lib/state.js';
import type { SetupConfig } from './config.js';

/**
 * `addr: local`: buildkitd on the runner, in a private directory under RUNNER_TEMP (root, socket,
 * config, log), run the way this user can run it:
 * - `root`: rootful, directly (runc);
 * - `sudo`: a non-root user with passwordless sudo (GitHub-hosted runners): rootful through
 *   `sudo -n`, its socket owned by the user's group (`--group`), stopped and removed through sudo;
 * - `rootless`: anyone else, under rootlesskit (a user namespace mapped from /etc/subuid and
 *   /etc/subgid by newuidmap/newgidmap), its state removed inside the same kind of namespace.
 */
export type LocalMode = 'root' | 'sudo' | 'rootless';

export interface LocalBuilder {
  addr: string;
  mode: LocalMode;
  /** Why the daemon is already gone (with its log's tail), else undefined: ends the wait early. */
  failure(): SlipwayError | undefined;
}

const LOG_TAIL_LINES = 15;

/** Root runs buildkitd itself; a user for whom `sudo -n true` succeeds goes through sudo. */
export async function localMode(): Promise<LocalMode> {
  if (process.getuid?.() === 0) return 'root';
  // Found as `run` will find it (lib/exec.ts's PATH search).
  if (findOnPath('sudo')) {
    const probe = await run('sudo', ['-n', 'true'], {
      ignoreReturnCode: true,
      stream: false,
      echo: false,
      timeoutMs: 15_000
    });
    if (probe.exitCode === 0) return 'sudo';
    core.info(`sudo -n true failed (${probe.stderr.trim() || `exit code ${probe.exitCode}`})`);
  }
  return 'rootless';
}

/** What rootless BuildKit needs from this runner, read from PATH, /etc and /proc. */
export interface RootlessFacts {
  user: string;
  uid: number;
  /** Which of rootlesskit, newuidmap, newgidmap are on PATH. */
  tools: { rootlesskit: boolean; newuidmap: boolean; newgidmap: boolean };
  /** /etc/subuid and /etc/subgid (undefined: no such file). */
  subuid: string | undefined;
  subgid: string | undefined;
  /** /proc/sys/user/max_user_namespaces and /proc/sys/kernel/unprivileged_userns_clone. */
  maxUserNamespaces: string | undefined;
  unprivilegedUsernsClone: string | undefined;
}

export async function readRootlessFacts(): Promise<RootlessFacts> {
  const read = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : undefined);
  const found = (tool: string) => findOnPath(tool) !== undefined;
  const info = userInfo();
  return {
    user: info.username,
    uid: info.uid,
    tools: {
      rootlesskit: found('rootlesskit'),
      newuidmap: found('newuidmap'),
      newgidmap: found('newgidmap')
    },
    subuid: read('/etc/subuid'),
    subgid: read('/etc/subgid'),
    maxUserNamespaces: read('/proc/sys/user/max_user_namespaces')?.trim(),
    unprivilegedUsernsClone: read('/proc/sys/kernel/unprivileged_userns_clone')?.trim()
  };
}

/** Whether a subordinate id file (`name-or-uid:start:count` lines) gives `user` a range. */
export function hasSubordinateRange(file: string | undefined, user: string, uid: number): boolean {
  return (file ?? '').split('\n').some(line => {
    const [owner, start, count] = line.trim().split(':');
    return (
      (owner === user || owner === String(uid)) && /^\d+$/.test(start ?? '') && Number(count) > 0
    );
  });
}

/** Everything rootless BuildKit needs that this runner lacks, one actionable line each. */
export function rootlessProblems(facts: RootlessFacts): string[] {
  const problems: string[] = [];
  const { user, uid } = facts;
  if (!facts.tools.rootlesskit) {
    problems.push(
      'rootlesskit is not on PATH: install it (Debian/Ubuntu: apt-get install rootlesskit; or go install github.com/rootless-containers/rootlesskit/v2/cmd/rootlesskit@latest).'
    );
  }
  const maps = (['newuidmap', 'newgidmap'] as const).filter(tool => !facts.tools[tool]);
  if (maps.length > 0) {
    problems.push(
      `${maps.join(' and ')} ${maps.length > 1 ? 'are' : 'is'} not on PATH: install the uidmap package (Debian/Ubuntu: apt-get install uidmap).`
    );
  }
  const files = (['subuid', 'subgid'] as const).filter(
    name => !hasSubordinateRange(facts[name], user, uid)
  );
  if (files.length > 0) {
    problems.push(
      `${files.map(name => `/etc/${name}`).join(' and ')} ${files.length > 1 ? 'have' : 'has'} no range for ${user} (uid ${uid}): add one, e.g. usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${user}.`
    );
  }
  if (facts.maxUserNamespaces === '0') {
    problems.push(
      'user namespaces are disabled (user.max_user_namespaces = 0): enable them, e.g. sysctl -w user.max_user_namespaces=28633.'
    );
  }
  if (facts.unprivilegedUsernsClone === '0') {
    problems.push(
      'unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone = 0): enable them, e.g. sysctl -w kernel.unprivileged_userns_clone=1.'
    );
  }
  return problems;
}

/** Starts buildkitd on the runner (see LocalMode); the state is saved before anything can fail. */
export async function startLocalBuilder(
  binDir: string,
  config: SetupConfig
): Promise<LocalBuilder> {
  const mode = await localMode();
  if (mode === 'rootless') {
    const facts = await readRootlessFacts();
    const problems = rootlessProblems(facts);
    if (problems.length > 0) {
      throw new SlipwayError(
        `addr: local cannot start buildkitd for ${facts.user} (uid ${facts.uid}): the user is not root and has no passwordless sudo, and rootless BuildKit needs what this runner lacks:\n${problems.map(problem => `- ${problem}`).join('\n')}`,
        {
          hint: 'Fix the items above, give the user passwordless sudo (as GitHub-hosted runners have), or point addr at an existing builder.'
        }
      );
    }
  }
  const dir = tempDir('buildkitd');
  STATE.setup.buildkitdDir.save(dir);
  STATE.setup.buildkitdMode.save(mode);
  const socket = path.join(dir, 'buildkitd.sock');
  const log = path.join(dir, 'buildkitd.log');
  const args = ['--root', path.join(dir, 'root'), '--addr', `unix://${socket}`];
  if (mode === 'sudo') args.push('--group', String(process.getgid?.() ?? ''));
  if (config.buildkitdConfig) {
    writeFileSync(path.join(dir, 'buildkitd.toml'), config.buildkitdConfig, { mode: 0o600 });
    args.push('--config', path.join(dir, 'buildkitd.toml'));
  }
  args.push(...config.buildkitdFlags);
  const buildkitd = path.join(binDir, 'buildkitd');
  let pid: number;
  if (mode === 'root') {
    pid = await spawnDetached(buildkitd, args, log, { cwd: dir });
  } else if (mode === 'sudo') {
    const sudo = await spawnDetached('sudo', ['-n', '--', buildkitd, ...args], log, { cwd: dir });
    // The pid to stop is buildkitd's own (root's: signalled through sudo), not sudo's.
    pid =
      (await poll(async () => findProcess([buildkitd, ...args]) ?? exitedEarly(sudo), {
        timeoutMs: 10_000,
        intervalMs: 100
      })) ?? 0;
    if (pid <= 0) {
      if (isProcessAlive(sudo)) process.kill(sudo, 'SIGTERM');
      throw daemonFailure('sudo -n buildkitd', mode, log);
    }
  } else {
    // Rootless buildkitd keeps its runtime files (e.g. the OpenTelemetry socket) under
    // XDG_RUNTIME_DIR, else /run/buildkit, which a user cannot create.
    const runtime = path.join(dir, 'run');
    mkdirSync(runtime, { mode: 0o700 });
    pid = await spawnDetached(
      'rootlesskit',
      ['--state-dir', path.join(dir, 'rootlesskit'), buildkitd, ...args],
      log,
      { cwd: dir, env: { XDG_RUNTIME_DIR: runtime } }
    );
  }
  STATE.setup.buildkitdPid.save(pid);
  core.info(`Started buildkitd (${describeMode(mode)}, pid ${pid}); log: ${log}`);
  return {
    addr: `unix://${socket}`,
    mode,
    failure: () => (isProcessAlive(pid) ? undefined : daemonFailure('buildkitd', mode, log))
  };
}

/** -1 once `pid` has exited (ends a poll), else undefined (keep polling). */
function exitedEarly(pid: number): number | undefined {
  return isProcessAlive(pid) ? undefined : -1;
}

export function describeMode(mode: LocalMode): string {
  return mode === 'root'
    ? 'rootful'
    : mode === 'sudo'
      ? 'rootful through sudo'
      : 'rootless through rootlesskit';
}

/** The daemon exited: its log's tail, and for rootless what usually stops a user namespace. */
function daemonFailure(what: string, mode: LocalMode, log: string): SlipwayError {
  const tail = existsSync(log) ? lastLines(redact(readFileSync(log, 'utf8')), LOG_TAIL_LINES) : '';
  const restricted =
    existsSync('/proc/sys/kernel/apparmor_restrict_unprivileged_userns') &&
    readFileSync('/proc/sys/kernel/apparmor_restrict_unprivileged_userns', 'utf8').trim() === '1';
  const hint =
    mode === 'rootless'
      ? `Rootless BuildKit needs unprivileged user namespaces${restricted ? '; this kernel restricts them through AppArmor (kernel.apparmor_restrict_unprivileged_userns = 1), so rootlesskit needs an AppArmor profile that allows userns, or that sysctl set to 0' : ''}. Inside a container, add --oci-worker-no-process-sandbox to buildkitd-flags; or give the user passwordless sudo.`
      : mode === 'sudo'
        ? 'sudo -n must be allowed to run the buildkitd binary from the tool cache (sudoers NOPASSWD).'
        : 'Check buildkitd-flags and buildkitd-config, and that runc is installed.';
  return new SlipwayError(
    `${what} (${describeMode(mode)}) exited before the builder answered.${tail ? `\n${tail}` : ''}`,
    { hint }
  );
}

/** Stops the buildkitd startLocalBuilder started and removes its directory, as that mode needs. */
export async function stopLocalBuilder(): Promise<void> {
  const mode = (STATE.setup.buildkitdMode.get() ?? 'root') as LocalMode;
  const pid = STATE.setup.buildkitdPid.get() ?? 0;
  const dir = STATE.setup.buildkitdDir.get();
  if (pid > 0) {
    const stopped = await stopProcess(pid, 10_000, mode === 'sudo' ? sudoKill : undefined);
    core.info(stopped ? `Stopped buildkitd (pid ${pid})` : `buildkitd (pid ${pid}) did not stop`);
  }
  if (!dir || !existsSync(dir)) return;
  // Files in the builder's root belong to root (sudo) or to the user namespace's subordinate ids
  // (rootless, e.g. a COPY --chown): only root, or root inside such a namespace, removes them.
  const root = path.join(dir, 'root');
  if (mode === 'sudo' && existsSync(root)) {
    await run('sudo', ['-n', 'rm', '-rf', '--', root], { stream: false });
  } else if (mode === 'rootless' && existsSync(root)) {
    await run(
      'rootlesskit',
      ['--state-dir', path.join(dir, 'rootlesskit-rm'), 'rm', '-rf', '--', root],
      { stream: false }
    );
  }
  rmSync(dir, { recursive: true, force: true });
  core.info(`Removed ${dir}`);
}

async function sudoKill(pid: number, signal: NodeJS.Signals): Promise<void> {
  await run('sudo', ['-n', 'kill', `-${signal.replace(/^SIG/, '')}`, String(pid)], {
    ignoreReturnCode: true,
    stream: false
  });
}

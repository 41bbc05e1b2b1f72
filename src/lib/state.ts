import * as core from '@actions/core';

/**
 * What a main step keeps for its post step (core.saveState / core.getState), every key declared
 * here once, typed, and namespaced by stage: the root action runs every stage in one process and
 * one post step, so two stages' keys must never meet.
 */
export class StateKey<T> {
  constructor(
    readonly name: string,
    private readonly encode: (value: T) => string,
    private readonly decode: (raw: string) => T
  ) {}

  save(value: T): void {
    core.saveState(this.name, this.encode(value));
  }

  /** Undefined when nothing was saved (the main step stopped before). */
  get(): T | undefined {
    const raw = core.getState(this.name);
    return raw === '' ? undefined : this.decode(raw);
  }

  /** Forgets the value: the post step then finds nothing to undo. */
  clear(): void {
    core.saveState(this.name, '');
  }
}

type Stage = 'setup' | 'login' | 'deploy';

const text = (stage: Stage, key: string): StateKey<string> =>
  new StateKey(
    `${stage}_${key}`,
    value => value,
    raw => raw
  );

const integer = (stage: Stage, key: string): StateKey<number> =>
  new StateKey(`${stage}_${key}`, String, Number);

const json = <T>(stage: Stage, key: string): StateKey<T> =>
  new StateKey(
    `${stage}_${key}`,
    value => JSON.stringify(value),
    raw => JSON.parse(raw) as T
  );

/** A builder pod setup-buildctl started, and how to reach its cluster again. */
export interface KubeBuilderState {
  namespace: string;
  pod: string;
  configMap?: string | undefined;
  kubeconfig?: string | undefined;
  context?: string | undefined;
}

/** A deploy under way (saved before helm runs, cleared once it succeeded): what post puts back. */
export interface InFlightDeploy {
  release: string;
  namespace: string;
  kubeconfig?: string | undefined;
  context?: string | undefined;
  helm: { path: string; version: string; major: number };
  /** The release's newest revision before this run (0: none); this run writes the next one. */
  latest: number;
  /** The last revision that was deployed before this run; none for a first install. */
  deployed?: number | undefined;
  timeoutMs: number;
  /** Whether a `failed` revision of this run is put back too (the atomic input). */
  atomic: boolean;
}

export interface DeployLockState {
  namespace: string;
  name: string;
  holder: string;
  kubeconfig?: string | undefined;
  context?: string | undefined;
}

export const STATE = {
  /** Set by the main run of every bundle: the runner's second run of it is the post step. */
  isPost: new StateKey<boolean>('isPost', String, raw => raw === 'true'),
  setup: {
    buildkitdPid: integer('setup', 'buildkitd_pid'),
    buildkitdDir: text('setup', 'buildkitd_dir'),
    /** How the local buildkitd runs: root, sudo or rootless (setup-buildctl's LocalMode). */
    buildkitdMode: text('setup', 'buildkitd_mode'),
    tlsDir: text('setup', 'tls_dir'),
    kubeBuilder: json<KubeBuilderState>('setup', 'kube_builder')
  },
  login: {
    dockerConfigDir: text('login', 'docker_config_dir'),
    /** DOCKER_CONFIG before the login, or UNSET_DOCKER_CONFIG. */
    previousDockerConfig: text('login', 'previous_docker_config')
  },
  deploy: {
    kubeconfigDir: text('deploy', 'kubeconfig_dir'),
    inFlight: json<InFlightDeploy>('deploy', 'in_flight'),
    /** The deploy lock (a Lease) this run holds, and how to reach its cluster again. */
    lock: json<DeployLockState>('deploy', 'lock')
  }
} as const;

/** Marks "DOCKER_CONFIG was not set" in state, where an empty value means "no state". */
export const UNSET_DOCKER_CONFIG = '<unset>';

/** Every key's name, for the test that no two collide. */
export function stateKeyNames(): string[] {
  const names: string[] = [];
  const walk = (node: object): void => {
    for (const value of Object.values(node)) {
      if (value instanceof StateKey) names.push(value.name);
      else if (typeof value === 'object' && value !== null) walk(value as object);
    }
  };
  walk(STATE);
  return names;
}

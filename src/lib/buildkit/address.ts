import { InputError } from '../errors.js';
import { quoteValue } from '../inputs.js';

/**
 * Which builder buildctl talks to: the addresses `--addr` accepts, and the TLS files for a
 * `tcp://` builder, turned into buildctl's global flags.
 */

export type BuilderAddress =
  | { kind: 'local' }
  | { kind: 'kubernetes' }
  | { kind: 'remote'; addr: string }
  | { kind: 'kube-workload'; workload: KubeWorkload };

/** An existing in-cluster builder: a Service or Deployment whose Ready pod buildctl reaches. */
export interface KubeWorkload {
  kind: 'Service' | 'Deployment';
  namespace: string;
  name: string;
  /** The input's value, for messages. */
  addr: string;
}

const DNS_LABEL = '[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?';
const KUBE_WORKLOAD = new RegExp(`^kube-(service|deployment)://(${DNS_LABEL})/(${DNS_LABEL})$`);
const WORKLOAD_FORMS = 'kube-service://namespace/service, kube-deployment://namespace/deployment';

const ADDRESS_PATTERNS: Array<[RegExp, string]> = [
  [/^tcp:\/\/[A-Za-z0-9.-]+:\d{1,5}$|^tcp:\/\/\[[0-9a-fA-F:]+\]:\d{1,5}$/, 'tcp://host:port'],
  [/^unix:\/\/\/[^\s]+$/, 'unix:///path/to/buildkitd.sock'],
  [
    /^kube-pod:\/\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?(\?[A-Za-z]+=[A-Za-z0-9._@:-]+(&[A-Za-z]+=[A-Za-z0-9._@:-]+)*)?$/,
    'kube-pod://pod?namespace=ns'
  ],
  [/^(docker|podman|nerdctl)-container:\/\/[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'docker-container://name'],
  [/^ssh:\/\/[A-Za-z0-9._@-]+(:\d{1,5})?$/, 'ssh://user@host']
];

/** A builder address buildctl's `--addr` accepts; the error lists the accepted forms. */
export function parseRemoteBuildkitAddr(name: string, raw: string, allowLocal = false): string {
  const value = raw.trim();
  if (ADDRESS_PATTERNS.some(([pattern]) => pattern.test(value))) return value;
  const forms = ADDRESS_PATTERNS.map(([, form]) => form).join(', ');
  throw new InputError(
    name,
    `must be ${allowLocal ? `local, kubernetes, ${WORKLOAD_FORMS} or ` : ''}a BuildKit address: ${forms}; got ${quoteValue(value)}.`
  );
}

/** `local`, or an address buildctl accepts; empty means `BUILDKIT_HOST` (else `local`). */
export function parseBuildkitAddr(name: string, raw: string, env = process.env): BuilderAddress {
  const value = raw.trim() || env.BUILDKIT_HOST?.trim() || 'local';
  if (value === 'local') return { kind: 'local' };
  if (value === 'kubernetes') return { kind: 'kubernetes' };
  if (/^kube-(service|deployment):/.test(value)) {
    const match = KUBE_WORKLOAD.exec(value);
    if (!match) {
      throw new InputError(
        name,
        `must be ${WORKLOAD_FORMS} (lower-case names, as Kubernetes spells them); got ${quoteValue(value)}.`
      );
    }
    const [, kind, namespace = '', service = ''] = match;
    return {
      kind: 'kube-workload',
      workload: {
        kind: kind === 'service' ? 'Service' : 'Deployment',
        namespace,
        name: service,
        addr: value
      }
    };
  }
  return { kind: 'remote', addr: parseRemoteBuildkitAddr(name, value, true) };
}

/** The builder address from setup-buildctl (or the user's environment), if any. */
export function buildkitHost(env = process.env): string | undefined {
  return env.BUILDKIT_HOST?.trim() || undefined;
}

/**
 * TLS for a `tcp://` builder. buildctl reads TLS settings from flags only (no environment), so
 * setup-buildctl writes the PEM files and exports their paths under these names, and every
 * buildctl call Slipway makes turns them back into flags.
 */
export interface BuildkitTls {
  ca?: string | undefined;
  cert?: string | undefined;
  key?: string | undefined;
  serverName?: string | undefined;
}

export const TLS_ENV = {
  ca: 'BUILDKIT_TLS_CA',
  cert: 'BUILDKIT_TLS_CERT',
  key: 'BUILDKIT_TLS_KEY',
  serverName: 'BUILDKIT_TLS_SERVER_NAME'
} as const;

export function tlsFromEnv(
  env: Record<string, string | undefined> = process.env
): BuildkitTls | undefined {
  const tls: BuildkitTls = {
    ca: env[TLS_ENV.ca]?.trim() || undefined,
    cert: env[TLS_ENV.cert]?.trim() || undefined,
    key: env[TLS_ENV.key]?.trim() || undefined,
    serverName: env[TLS_ENV.serverName]?.trim() || undefined
  };
  return Object.values(tls).some(Boolean) ? tls : undefined;
}

/** buildctl's global TLS flags; only meaningful for tcp:// addresses. */
export function tlsArgs(addr: string | undefined, tls: BuildkitTls | undefined): string[] {
  if (!tls || !addr?.startsWith('tcp://')) return [];
  return [
    ...(tls.serverName ? ['--tlsservername', tls.serverName] : []),
    ...(tls.ca ? ['--tlscacert', tls.ca] : []),
    ...(tls.cert ? ['--tlscert', tls.cert] : []),
    ...(tls.key ? ['--tlskey', tls.key] : [])
  ];
}

/** The flags every buildctl call starts with: `--addr` (when set) and TLS. */
export function globalArgs(addr: string | undefined, tls: BuildkitTls | undefined): string[] {
  return [...(addr ? ['--addr', addr] : []), ...tlsArgs(addr, tls)];
}

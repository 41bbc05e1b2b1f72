import { parseBuildkitAddr, type BuilderAddress } from '../lib/buildkit/index.js';
import { Inputs, parseNamespace, parseSha256 } from '../lib/inputs.js';
import { parseImageReference } from '../lib/reference.js';
import { parseVersionSpec, type VersionSpec } from '../lib/tools.js';
import { InputError } from '../lib/errors.js';

export interface SetupConfig {
  version: VersionSpec;
  /** A mirror URL template; undefined means GitHub's release assets. */
  downloadUrl: string | undefined;
  checksum: string | undefined;
  token: string | undefined;
  apiUrl: string;
  address: BuilderAddress;
  buildkitdFlags: string[];
  buildkitdConfig: string | undefined;
  timeoutMs: number;
  /** PEM contents for a tcp:// builder; written to private files by main. */
  tls: TlsInputs | undefined;
  /** `addr: kubernetes`: where and what to run. */
  kubernetes: {
    namespace: string | undefined;
    image: string | undefined;
    kubeconfig: string | undefined;
    context: string | undefined;
    /** PEM the builder pod trusts for registries, mounted at `BUILDER_REGISTRY_CA`. */
    registryCa: string | undefined;
  };
}

/** Where `builder-registry-ca` is mounted in the builder pod (buildkitd-config refers to it). */
export const BUILDER_REGISTRY_CA = '/etc/buildkit/registry-ca.pem';

export interface TlsInputs {
  ca: string | undefined;
  cert: string | undefined;
  key: string | undefined;
  serverName: string | undefined;
}

function readPem(inputs: Inputs, name: string, kind: RegExp, secret = false): string | undefined {
  const value = inputs.optionalString(name, { multiline: true, secret });
  if (value === undefined) return undefined;
  const pem = value.trim();
  if (
    !/^-----BEGIN [A-Z ]+-----\r?\n[\s\S]+\r?\n-----END [A-Z ]+-----$/.test(pem) ||
    !kind.test(pem)
  ) {
    throw new InputError(
      name,
      secret
        ? 'must be a PEM private key (-----BEGIN … PRIVATE KEY----- … -----END … PRIVATE KEY-----), the content rather than a path.'
        : 'must be a PEM certificate (-----BEGIN CERTIFICATE----- … -----END CERTIFICATE-----), the content rather than a path.'
    );
  }
  return `${pem}\n`;
}

/** tls-* apply to tcp:// builders; a client certificate needs its key and the other way round. */
function readTls(inputs: Inputs, address: BuilderAddress): TlsInputs | undefined {
  const tls: TlsInputs = {
    ca: readPem(inputs, 'tls-ca', /CERTIFICATE/),
    cert: readPem(inputs, 'tls-cert', /CERTIFICATE/),
    key: readPem(inputs, 'tls-key', /PRIVATE KEY/, true),
    serverName: inputs.optionalString('tls-server-name')
  };
  if (tls.serverName && !/^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/.test(tls.serverName)) {
    throw new InputError('tls-server-name', 'must be a host name such as buildkitd.ci.svc.');
  }
  const given = Object.entries(tls).filter(([, value]) => value !== undefined);
  if (given.length === 0) return undefined;
  if (address.kind !== 'remote' || !address.addr.startsWith('tcp://')) {
    throw new InputError(
      given[0]?.[0] === 'serverName' ? 'tls-server-name' : `tls-${given[0]?.[0] ?? 'ca'}`,
      'applies only to a tcp:// builder address (addr: tcp://host:port).'
    );
  }
  if (Boolean(tls.cert) !== Boolean(tls.key)) {
    throw new InputError(
      tls.cert ? 'tls-key' : 'tls-cert',
      'is needed too: a client certificate and its key go together.'
    );
  }
  return tls;
}

/** Validates every input before anything is downloaded or started. */
export function readConfig(inputs: Inputs, env = process.env): SetupConfig {
  const downloadUrl = inputs.optionalString('download-url');
  if (downloadUrl && !/^https?:\/\/[^\s]+$/.test(downloadUrl)) {
    throw new InputError(
      'download-url',
      'must be an http(s) URL template, e.g. https://mirror/buildkit/{version}/buildkit-{version}.linux-{arch}.tar.gz.'
    );
  }
  const address = parseBuildkitAddr('addr', inputs.raw('addr'), env);
  const buildkitdFlags = inputs.list('buildkitd-flags').flatMap(line => line.split(/\s+/));
  const buildkitdConfig = inputs.optionalString('buildkitd-config', { multiline: true });
  const starts = address.kind === 'local' || address.kind === 'kubernetes';
  if (!starts && (buildkitdFlags.length > 0 || buildkitdConfig)) {
    throw new InputError(
      'buildkitd-flags',
      'and buildkitd-config apply only to addr: local or kubernetes (a builder this action starts).'
    );
  }
  const builderNamespaceRaw = inputs.optionalString('builder-namespace');
  const builderImage = inputs.optionalString('builder-image');
  if (address.kind !== 'kubernetes' && (builderNamespaceRaw || builderImage)) {
    throw new InputError(
      builderNamespaceRaw ? 'builder-namespace' : 'builder-image',
      'applies only to addr: kubernetes (a builder pod this action starts).'
    );
  }
  if (builderImage) parseImageReference('builder-image', builderImage);
  const registryCa = readPem(inputs, 'builder-registry-ca', /CERTIFICATE/);
  if (
    registryCa &&
    (address.kind !== 'kubernetes' || !buildkitdConfig?.includes(BUILDER_REGISTRY_CA))
  ) {
    throw new InputError(
      'builder-registry-ca',
      `applies to addr: kubernetes with a buildkitd-config that refers to it, e.g. [registry."registry.example:5000"] ca = ["${BUILDER_REGISTRY_CA}"].`
    );
  }
  return {
    version: parseVersionSpec('version', inputs.raw('version')),
    downloadUrl,
    checksum: parseSha256('checksum', inputs.raw('checksum')),
    token: inputs.optionalString('github-token', { secret: true }),
    apiUrl: inputs.string('github-api-url', {
      default: env.GITHUB_API_URL || 'https://api.github.com'
    }),
    address,
    buildkitdFlags,
    buildkitdConfig,
    timeoutMs: inputs.duration('timeout', '60s'),
    tls: readTls(inputs, address),
    kubernetes: {
      namespace: builderNamespaceRaw
        ? parseNamespace('builder-namespace', builderNamespaceRaw)
        : undefined,
      image: builderImage,
      kubeconfig: inputs.optionalString('kubeconfig'),
      context: inputs.optionalString('context'),
      registryCa
    }
  };
}

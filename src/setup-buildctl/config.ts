import { parseBuildkitAddr, type BuilderAddress } from '../lib/buildkit.js';
import { Inputs, parseSha256 } from '../lib/inputs.js';
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
  if (address.kind === 'remote' && (buildkitdFlags.length > 0 || buildkitdConfig)) {
    throw new InputError(
      'buildkitd-flags',
      'and buildkitd-config apply only to addr: local (a builder this action starts).'
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
    timeoutMs: inputs.duration('timeout', '60s')
  };
}

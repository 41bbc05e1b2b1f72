import { InputError } from '../lib/errors.js';
import { quoteValue } from '../lib/inputs.js';

/**
 * BuildKit daemon addresses as buildctl's `--addr` takes them. A local check until the shared
 * `parseBuildkitAddr` of src/lib/buildkit.ts (setup-buildctl) is available to this action.
 */
const SCHEMES = [
  'unix',
  'tcp',
  'kube-pod',
  'docker-container',
  'podman-container',
  'nerdctl-container',
  'npipe',
  'ssh'
];

export function parseAddr(name: string, raw: string): string {
  const value = raw.trim();
  const expected = `an address such as unix:///run/buildkit/buildkitd.sock or tcp://buildkitd:1234 (schemes: ${SCHEMES.join(', ')})`;
  const match = /^([a-z-]+):\/\/(.+)$/.exec(value);
  if (!match || !SCHEMES.includes(match[1] ?? '') || /\s/.test(value)) {
    throw new InputError(name, `must be ${expected}; got ${quoteValue(raw)}.`);
  }
  const [, scheme, rest = ''] = match;
  if (scheme === 'tcp' && !/^(?:\[[0-9a-fA-F:]+\]|[\w.-]+):\d{1,5}$/.test(rest)) {
    throw new InputError(name, `must be tcp://host:port; got ${quoteValue(raw)}.`);
  }
  if (scheme === 'unix' && !rest.startsWith('/')) {
    throw new InputError(name, `must be unix:///absolute/path.sock; got ${quoteValue(raw)}.`);
  }
  return value;
}

import { beforeAll, describe, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { parse as parseYaml } from 'yaml';
import { readConfig as readBuildConfig } from '../../../../src/buildpack-build/config.js';
import {
  parseChart,
  readConfig as readDeployConfig
} from '../../../../src/helm-deploy-namespace/config.js';
import { Inputs, isValidLabelKey } from '../../../../src/lib/inputs.js';
import { loadYaml11 } from '../../../../src/lib/yaml11.js';
import { readConfig as readLoginConfig } from '../../../../src/registry-login-from-secret/config.js';
import { readConfig as readSetupConfig } from '../../../../src/setup-buildctl/config.js';
import {
  DIGITS,
  LOWER,
  REJECTED,
  UPPER,
  anyString,
  check,
  inputsAround,
  parseOrReject,
  stringOf
} from './support.js';

/**
 * Property tests of the actions' own input parsing: the chart and label-key parsers, and each
 * action's readConfig with one input replaced by a generated string while the others stay valid.
 */

const segment = stringOf(`${LOWER}${DIGITS}._-`, 1, 10).filter(s => !/^\.\.?$/.test(s));

describe('parseChart', () => {
  it('reads generated oci://, repo/name and local charts', () => {
    const chart = fc.oneof(
      fc
        .tuple(
          stringOf(`${LOWER}${DIGITS}.-`, 1, 12),
          fc.option(fc.integer({ min: 1, max: 65535 })),
          fc.array(segment, { minLength: 1, maxLength: 3 })
        )
        .map(([host, port, path]) => ({
          raw: `oci://${host}${port ? `:${port}` : ''}/${path.join('/')}`,
          expected: undefined
        })),
      fc
        .tuple(
          stringOf(`${LOWER}${UPPER}${DIGITS}_-`, 1, 8).map(r => `r${r}`),
          stringOf(`${LOWER}${DIGITS}_-`, 1, 8)
        )
        .map(([repo, name]) => ({ raw: `${repo}/${name}`, expected: undefined })),
      fc.array(segment, { minLength: 1, maxLength: 3 }).map(path => ({
        raw: `./${path.join('/')}`,
        expected: `/ws/${path.join('/')}`
      })),
      segment.map(name => ({ raw: `charts/${name}.tgz`, expected: `/ws/charts/${name}.tgz` }))
    );
    check('parseChart', chart, ({ raw, expected }) => {
      assert.equal(parseChart(` ${raw} `, '/ws'), expected ?? raw);
    });
  });

  it('refuses anything else with an error naming chart', () => {
    const near = fc.constantFrom(
      'oci://ghcr.io/o/chart',
      'bitnami/nginx',
      './chart',
      'c.tgz',
      '/abs/chart'
    );
    check(
      'parseChart',
      inputsAround(near),
      raw => {
        const result = parseOrReject('chart', () => parseChart(raw, '/ws'));
        if (result === REJECTED) return;
        assert.ok(!result.startsWith('-'));
        assert.ok(!/\s/.test(result.trim()) || result.startsWith('/'));
      },
      3000
    );
  });
});

describe('isValidLabelKey', () => {
  const name = fc
    .tuple(
      stringOf(`${LOWER}${UPPER}${DIGITS}`, 1, 1),
      stringOf(`${LOWER}${UPPER}${DIGITS}-_.`, 0, 61),
      stringOf(`${LOWER}${DIGITS}`, 1, 1)
    )
    .map(([a, b, c]) => (b === '' && c === '' ? a : a + b + c));
  const prefix = fc
    .array(stringOf(LOWER + DIGITS, 1, 10), { minLength: 1, maxLength: 4 })
    .map(parts => parts.join('.'));

  it('accepts generated keys, [prefix/]name, and refuses them once broken', () => {
    check('isValidLabelKey', fc.tuple(fc.option(prefix), name), ([p, n]) => {
      const key = p === null ? n : `${p}/${n}`;
      assert.equal(isValidLabelKey(key), n.length <= 63);
      assert.equal(isValidLabelKey(`${key}/`), false);
      assert.equal(isValidLabelKey(`-${n}`), false);
    });
  });

  it('answers for any string without throwing', () => {
    check('isValidLabelKey', anyString, raw => {
      assert.equal(typeof isValidLabelKey(raw), 'boolean');
    });
  });
});

function inputNames(action: string): string[] {
  const metadata = parseYaml(readFileSync(`actions/${action}/action.yml`, 'utf8')) as {
    inputs: Record<string, unknown>;
  };
  return Object.keys(metadata.inputs);
}

/** Strings an input may plausibly be given: valid-looking forms, near misses, and anything. */
const plausible = fc.constantFrom(
  '',
  'true',
  'false',
  '0',
  '5m',
  '30',
  'app',
  'pr-1',
  'a=b',
  'a=b\nc=d',
  'image.tag=v1',
  './chart',
  '../x',
  '/abs',
  'oci://ghcr.io/o/c',
  'ghcr.io/o/app:1',
  'ghcr.io/o/app@sha256:' + 'a'.repeat(64),
  'sha256:' + 'b'.repeat(64),
  'tcp://builder:1234',
  'kubernetes',
  'kube-service://ns/svc',
  'https://git.example.com/a.git#main:app',
  'id=npm,src=.npmrc',
  'type=registry,ref=ghcr.io/o/cache',
  'linux/amd64,linux/arm64',
  '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----',
  '/healthz',
  '200,204',
  'v1.2.3',
  '^3.17'
);

/**
 * Inputs named by an error that another input caused, where the message is about the pair
 * (`digest needs the image input`, `buildkitd-flags … apply only to addr: local`).
 */
const RELATED: Record<string, string[]> = {
  addr: [
    'buildkitd-flags',
    'builder-namespace',
    'builder-image',
    'builder-registry-ca',
    'tls-ca',
    'tls-cert',
    'tls-key',
    'tls-server-name'
  ],
  action: ['chart'],
  frontend: ['dockerfile', 'builder', 'run-image', 'buildpacks', 'buildpack-env', 'frontend-image'],
  push: ['image'],
  image: ['digest', 'tags'],
  'image-pull-secret': ['image-pull-secret-from', 'pull-secret-service-account'],
  'check-path': ['check-service', 'check-status'],
  'buildkitd-config': ['builder-registry-ca', 'buildkitd-flags'],
  'tls-cert': ['tls-key'],
  'tls-key': ['tls-cert']
};

const ACTIONS = [
  {
    action: 'setup-buildctl',
    base: {},
    read: (inputs: Inputs) => readSetupConfig(inputs, {})
  },
  {
    action: 'buildpack-build',
    base: { context: 'https://git.example.com/team/app.git', image: 'registry.example:5000/app' },
    read: (inputs: Inputs) => readBuildConfig(inputs, {})
  },
  {
    action: 'helm-deploy-namespace',
    base: { release: 'app', namespace: 'pr-1', chart: './chart' },
    read: (inputs: Inputs) => readDeployConfig(inputs, { GITHUB_WORKSPACE: '/ws' })
  },
  {
    action: 'registry-login-from-secret',
    base: { 'secret-name': 'registry-creds' },
    read: (inputs: Inputs) => readLoginConfig(inputs)
  }
] as const;

// helm-deploy-namespace's readConfig parses `values` with the YAML reader its main loads first.
beforeAll(() => loadYaml11());

describe.each(ACTIONS)('$action readConfig', ({ action, base, read }) => {
  const names = inputNames(action);

  it('reads its valid base inputs', () => {
    read(new Inputs(name => (base as Record<string, string>)[name] ?? ''));
  });

  it('takes any value of any one input, or refuses it with an error naming that input', () => {
    const arbitrary = fc.tuple(fc.constantFrom(...names), inputsAround(plausible));
    check(
      `${action} readConfig`,
      arbitrary,
      ([input, raw]) => {
        const values: Record<string, string> = { ...base, [input]: raw };
        const expected = [input, ...(RELATED[input] ?? [])];
        parseOrReject(expected, () => read(new Inputs(name => values[name] ?? '')));
      },
      2000
    );
  });
});

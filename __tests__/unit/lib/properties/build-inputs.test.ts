import { describe, it } from '@jest/globals';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  parseBuildkitAddr,
  parseBuildpackEnv,
  parseBuildpackRef,
  parseCacheSpec,
  parseCsvFields,
  parseDockerfileImage,
  parseGitContext,
  parseRemoteBuildkitAddr,
  parseSecretSpec,
  resolvePlaceholders
} from '../../../../src/lib/buildkit/index.js';
import { parseVersionSpec } from '../../../../src/lib/tools.js';
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

/** Property tests of the build inputs' parsers (builder address, git context, secrets, caches). */

const label = fc
  .tuple(
    stringOf(LOWER + DIGITS, 1, 1),
    stringOf(`${LOWER}${DIGITS}-`, 0, 10),
    stringOf(LOWER, 1, 1)
  )
  .map(([a, b, c]) => a + b + c);
// The last label starts with a letter: the URL standard reads a last label such as `0xa` or `12`
// as a number and the whole host as an IPv4 address ("aa.0xa" is not a valid host).
const topLabel = fc.tuple(stringOf(LOWER, 1, 1), label).map(([a, b]) => a + b);
const hostname = fc
  .tuple(fc.array(label, { minLength: 0, maxLength: 2 }), topLabel)
  .map(([parts, top]) => [...parts, top].join('.'));
const port = fc.integer({ min: 1, max: 65535 });

const address = fc.oneof(
  fc.tuple(hostname, port).map(([h, p]) => `tcp://${h}:${p}`),
  port.map(p => `tcp://[::1]:${p}`),
  stringOf(`${LOWER}/._-`, 1, 20).map(p => `unix:///${p}`),
  fc.tuple(label, label).map(([pod, ns]) => `kube-pod://${pod}?namespace=${ns}`),
  fc
    .tuple(fc.constantFrom('docker', 'podman', 'nerdctl'), label)
    .map(([tool, name]) => `${tool}-container://${name}`),
  fc
    .tuple(label, hostname, fc.option(port))
    .map(([u, h, p]) => `ssh://${u}@${h}${p ? `:${p}` : ''}`)
);

describe('builder addresses', () => {
  it('reads a generated address as written, and kube-service/deployment into their parts', () => {
    const workload = fc.tuple(fc.constantFrom('service', 'deployment'), label, label);
    check(
      'parseBuildkitAddr',
      fc.oneof(
        address.map(a => ({ a, workload: undefined })),
        workload.map(w => ({ a: '', workload: w }))
      ),
      ({ a, workload }) => {
        if (workload) {
          const [kind, namespace, name] = workload;
          const text = `kube-${kind}://${namespace}/${name}`;
          assert.deepEqual(parseBuildkitAddr('addr', ` ${text} `, {}), {
            kind: 'kube-workload',
            workload: {
              kind: kind === 'service' ? 'Service' : 'Deployment',
              namespace,
              name,
              addr: text
            }
          });
          return;
        }
        assert.equal(parseRemoteBuildkitAddr('addr', `\t${a}\n`), a);
        assert.deepEqual(parseBuildkitAddr('addr', a, {}), { kind: 'remote', addr: a });
      }
    );
  });

  it('refuses any other string with an error naming the input', () => {
    const near = fc.oneof(address, fc.constantFrom('local', 'kubernetes', 'kube-service://a/b'));
    check(
      'parseBuildkitAddr',
      inputsAround(near),
      raw => {
        const result = parseOrReject('addr', () => parseBuildkitAddr('addr', raw, {}));
        if (result === REJECTED) return;
        if (result.kind === 'remote') assert.ok(!/\s/.test(result.addr));
        if (raw.trim() === '') assert.deepEqual(result, { kind: 'local' });
        const remote = parseOrReject('addr', () => parseRemoteBuildkitAddr('addr', raw));
        if (remote !== REJECTED) assert.equal(remote, raw.trim());
      },
      3000
    );
  });
});

const ref = stringOf(`${LOWER}${DIGITS}._-`, 1, 10).filter(r => !r.startsWith('-'));
const subdir = fc
  .array(stringOf(`${LOWER}${DIGITS}_-`, 1, 6), { minLength: 1, maxLength: 3 })
  .map(parts => parts.join('/'));

describe('parseGitContext', () => {
  it('reads a generated git URL and its #ref:subdir fragment', () => {
    const repository = fc.oneof(
      fc
        .tuple(fc.constantFrom('https', 'http', 'git', 'ssh'), hostname, subdir)
        .map(([scheme, host, path]) => `${scheme}://${host}/${path}.git`),
      fc.tuple(label, hostname, subdir).map(([user, host, path]) => `${user}@${host}:${path}.git`)
    );
    const arbitrary = fc.record({
      repository,
      ref: fc.option(ref, { nil: undefined }),
      subdir: fc.option(subdir, { nil: undefined })
    });
    check('parseGitContext', arbitrary, ({ repository: repo, ref: r, subdir: dir }) => {
      const fragment =
        r === undefined && dir === undefined ? '' : `#${r ?? ''}${dir ? `:${dir}` : ''}`;
      const url = repo + fragment;
      assert.deepEqual(parseGitContext('context', ` ${url}\n`), {
        kind: 'git',
        url,
        repository: repo,
        ref: r,
        subdir: dir
      });
    });
  });

  it('refuses the rest with an error naming the input, and never a subdir outside', () => {
    const near = fc.oneof(
      fc.constantFrom(
        'https://git.example.com/a.git#main:app',
        'git@github.com:o/r.git#v1:../x',
        'https://u:p@h/a.git',
        'https://h/a',
        'git://h/a.git#:/etc'
      ),
      fc.tuple(hostname, subdir).map(([h, p]) => `https://${h}/${p}.git#x:${p}`)
    );
    check(
      'parseGitContext',
      inputsAround(near),
      raw => {
        const result = parseOrReject('context', () => parseGitContext('context', raw));
        if (result === REJECTED) return;
        assert.equal(result.url, raw.trim());
        if (result.subdir) {
          assert.ok(!result.subdir.startsWith('/'));
          assert.ok(!result.subdir.split('/').includes('..'));
        }
      },
      3000
    );
  });
});

/** A CSV field value written as buildctl's reader takes it: quoted when it holds `,` or `"`. */
function csvValue(value: string): string {
  return /[,"]/.test(value) ? `"${value.replace(/"/g, '""')}"` : value;
}

describe('parseCsvFields', () => {
  it('reads back generated fields, quoted values keeping commas and quotes', () => {
    const key = stringOf(LOWER + UPPER + '-_', 1, 8);
    const value = fc.string({ maxLength: 16 }).map(v => v.trim());
    const fields = fc.uniqueArray(fc.tuple(key, value), {
      selector: ([k]) => k.toLowerCase(),
      maxLength: 6
    });
    check('parseCsvFields', fields, list => {
      const line = list.map(([k, v]) => `${k}=${csvValue(v)}`).join(',');
      const expected = new Map(list.map(([k, v]) => [k.toLowerCase(), v]));
      assert.deepEqual(parseCsvFields('cache-to', line), expected);
    });
  });

  it('splits any line or refuses it with an error naming the input', () => {
    check(
      'parseCsvFields',
      inputsAround(fc.constantFrom('type=registry,ref="a,b"', 'a=1,b=""""', 'id=x,src=/y')),
      raw => {
        const fields = parseOrReject('cache-from', () => parseCsvFields('cache-from', raw));
        if (fields === REJECTED) return;
        for (const k of fields.keys()) assert.equal(k, k.trim().toLowerCase());
      },
      3000
    );
  });
});

describe('parseSecretSpec', () => {
  const id = stringOf(`${LOWER}${UPPER}${DIGITS}._-`, 1, 12);
  const envName = fc
    .tuple(stringOf(`${UPPER}_`, 1, 1), stringOf(`${UPPER}${DIGITS}_`, 0, 10))
    .map(([a, b]) => a + b);
  const path = fc.string({ minLength: 1, maxLength: 20 }).map(p => p.trim() || 'f');

  it('reads a generated id=…,src=… or id=…,env=… line', () => {
    const arbitrary = fc.record({
      id,
      source: fc.oneof(
        envName.map(name => ({ type: 'env' as const, name })),
        path.map(p => ({ type: 'file' as const, path: p }))
      ),
      srcKey: fc.constantFrom('src', 'source', 'SRC'),
      reversed: fc.boolean()
    });
    check('parseSecretSpec', arbitrary, ({ id: i, source, srcKey, reversed }) => {
      const fields = [
        `id=${i}`,
        source.type === 'env' ? `env=${source.name}` : `${srcKey}=${csvValue(source.path)}`
      ];
      const line = (reversed ? fields.reverse() : fields).join(',');
      assert.deepEqual(parseSecretSpec('secrets', line), { id: i, source });
    });
  });

  it('refuses any other line with an error naming the input', () => {
    check(
      'parseSecretSpec',
      inputsAround(fc.constantFrom('id=npm,src=.npmrc', 'id=t,env=TOKEN', 'id=a,src="x,y"')),
      raw => {
        const result = parseOrReject('secrets', () => parseSecretSpec('secrets', raw));
        if (result === REJECTED) return;
        assert.match(result.id, /^[A-Za-z0-9._-]+$/);
        if (result.source.type === 'env') assert.match(result.source.name, /^[A-Za-z_]\w*$/);
      },
      3000
    );
  });
});

describe('parseCacheSpec', () => {
  const imageRef = fc
    .tuple(fc.constantFrom('', 'registry.example:5000/', 'ghcr.io/'), label, fc.option(ref))
    .map(([domain, repo, tag]) => `${domain}${repo}${tag ? `:${tag.replace(/^[.]/, 'x')}` : ''}`);

  it('reads a bare reference as a registry cache and generated specs into their attributes', () => {
    const spec = fc.oneof(
      imageRef.map(r => ({ line: r, type: 'registry', attrs: [['ref', r]] })),
      fc.tuple(imageRef, fc.constantFrom('min', 'max')).map(([r, mode]) => ({
        line: `type=registry,ref=${r},mode=${mode}`,
        type: 'registry',
        attrs: [
          ['ref', r],
          ['mode', mode]
        ]
      })),
      subdir.map(dir => ({
        line: `type=local,dest=/tmp/${dir}`,
        type: 'local',
        attrs: [['dest', `/tmp/${dir}`]]
      })),
      fc.constantFrom(
        { line: 'type=gha', type: 'gha', attrs: [] },
        { line: 'type=inline', type: 'inline', attrs: [] }
      )
    );
    check('parseCacheSpec', spec, ({ line, type, attrs }) => {
      assert.deepEqual(parseCacheSpec('cache-from', ` ${line} `), { type, attrs });
    });
  });

  it('refuses any other line with an error naming the input', () => {
    const near = fc.constantFrom(
      'ghcr.io/o/cache:buildcache',
      'type=registry,ref=r/c',
      'type=local,src=/c'
    );
    check(
      'parseCacheSpec',
      inputsAround(near),
      raw => {
        parseOrReject('cache-to', () => parseCacheSpec('cache-to', raw));
      },
      3000
    );
  });
});

describe('buildpacks inputs', () => {
  const id = fc
    .array(
      stringOf(`${LOWER}${DIGITS}-`, 1, 10).map(s => `a${s}`),
      { minLength: 1, maxLength: 2 }
    )
    .map(parts => parts.join('/'));
  const version = fc.tuple(fc.nat(20), fc.nat(20), fc.nat(20)).map(([a, b, c]) => `${a}.${b}.${c}`);
  const image = fc
    .tuple(fc.constantFrom('docker.io/', 'ghcr.io/', ''), label, fc.option(version))
    .map(([d, n, t]) => `${d}${n}${t ? `:${t}` : ''}`);

  it('reads a generated <id>[@<version>][=<image>] line', () => {
    const arbitrary = fc.record({
      id,
      version: fc.option(version, { nil: undefined }),
      image: fc.option(image, { nil: undefined })
    });
    check('parseBuildpackRef', arbitrary, ({ id: i, version: v, image: img }) => {
      const withImage = v === undefined ? undefined : img;
      const line = `${i}${v === undefined ? '' : `@${v}`}${withImage === undefined ? '' : `=${withImage}`}`;
      assert.deepEqual(parseBuildpackRef('buildpacks', ` ${line} `), {
        id: i,
        version: v,
        image: withImage
      });
    });
  });

  it('refuses any other buildpack line, builder image or variable name naming the input', () => {
    const near = fc.oneof(
      fc.constantFrom('paketo-buildpacks/procfile@5.13.4', 'a@1=docker.io/x:1', 'b@1.0'),
      image
    );
    check(
      'parseBuildpackRef',
      inputsAround(near),
      raw => {
        parseOrReject('buildpacks', () => parseBuildpackRef('buildpacks', raw));
        const img = parseOrReject('builder', () => parseDockerfileImage('builder', raw));
        if (img !== REJECTED) assert.match(img, /^[A-Za-z0-9][A-Za-z0-9._:/@-]*$/);
        parseOrReject('buildpack-env', () =>
          parseBuildpackEnv('buildpack-env', [[raw.trim(), 'v']])
        );
      },
      3000
    );
  });

  it('accepts generated image references in the Dockerfile and every BP_ variable', () => {
    const envName = stringOf(`${UPPER}${DIGITS}_`, 0, 12).map(s => `BP_${s}`);
    check('parseDockerfileImage', fc.tuple(image, envName), ([img, name]) => {
      assert.equal(parseDockerfileImage('builder', `\n${img} `), img);
      parseBuildpackEnv('buildpack-env', [[name, 'x']]);
      assert.throws(() => parseBuildpackEnv('buildpack-env', [[`CNB_${name}`, 'x']]), {
        name: 'InputError'
      });
    });
  });
});

describe('parseVersionSpec', () => {
  const semver = fc
    .tuple(fc.nat(99), fc.nat(99), fc.nat(99), fc.option(stringOf(`${LOWER}${DIGITS}`, 0, 5)))
    .map(([a, b, c, pre]) => `${a}.${b}.${c}${pre === null ? '' : `-rc${pre}`}`);

  it('reads latest, an exact version (v optional) and ranges', () => {
    const arbitrary = fc.oneof(
      fc.constantFrom('', 'latest').map(text => ({ text, expected: { kind: 'latest' } as const })),
      fc.tuple(semver, fc.boolean()).map(([v, prefix]) => ({
        text: `${prefix ? 'v' : ''}${v}`,
        expected: { kind: 'exact', version: `v${v}` }
      })),
      fc.tuple(fc.constantFrom('^', '~', '>=', '<'), fc.nat(9), fc.nat(30)).map(([op, a, b]) => ({
        text: `${op}${a}.${b}`,
        expected: { kind: 'range', range: `${op}${a}.${b}` }
      }))
    );
    check('parseVersionSpec', arbitrary, ({ text, expected }) => {
      assert.deepEqual(parseVersionSpec('version', ` ${text}\n`), expected);
    });
  });

  it('refuses anything else with an error naming the input', () => {
    check(
      'parseVersionSpec',
      inputsAround(semver),
      raw => {
        parseOrReject('version', () => parseVersionSpec('version', raw));
      },
      3000
    );
  });
});

describe('resolvePlaceholders', () => {
  it('replaces known placeholders and refuses unknown or unset ones naming the input', () => {
    const text = fc
      .array(
        fc.oneof(
          stringOf(`${LOWER}-:/`, 1, 5),
          fc.constantFrom(
            '{{sha}}',
            '{{ short-sha }}',
            '{{run}}',
            '{{run-attempt}}',
            '{{nope}}',
            '{{',
            '}}'
          )
        ),
        { maxLength: 5 }
      )
      .map(parts => parts.join(''));
    const env = fc.record({
      GITHUB_SHA: fc.option(stringOf('0123456789abcdef', 40, 40), { nil: undefined }),
      GITHUB_RUN_NUMBER: fc.option(fc.nat().map(String), { nil: undefined }),
      GITHUB_RUN_ATTEMPT: fc.constant('1')
    });
    check('resolvePlaceholders', fc.tuple(fc.oneof(text, anyString), env), ([raw, vars]) => {
      const result = parseOrReject('tags', () => resolvePlaceholders('tags', raw, vars));
      if (result !== REJECTED && !raw.includes('{{')) assert.equal(result, raw);
    });
  });
});

import { describe, it } from '@jest/globals';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  formatReference,
  parseImageReference,
  pinDigest,
  repositoryName
} from '../../../../src/lib/reference.js';
import {
  DIGITS,
  HEX,
  LOWER,
  REJECTED,
  UPPER,
  check,
  inputsAround,
  parseOrReject,
  stringOf
} from './support.js';

/**
 * Property tests of image references, generated from the distribution/reference grammar:
 *   [domain[:port]/]path-component(/path-component)*[:tag][@digest]
 */

const alnum = stringOf(LOWER + DIGITS, 1, 6);
const separator = fc.constantFrom('.', '_', '__', '-', '--', '---');
const pathComponent = fc.oneof(
  fc.constantFrom('library', 'app', 'nginx', 'a', '0'),
  fc
    .tuple(alnum, fc.array(fc.tuple(separator, alnum), { maxLength: 3 }))
    .map(([first, rest]) => first + rest.map(([sep, part]) => sep + part).join(''))
);

const domainComponent = fc.oneof(
  stringOf(LOWER + UPPER + DIGITS, 1, 1),
  fc
    .tuple(
      stringOf(LOWER + UPPER + DIGITS, 1, 1),
      stringOf(`${LOWER}${DIGITS}-`, 0, 8),
      stringOf(LOWER + UPPER + DIGITS, 1, 1)
    )
    .map(([a, middle, b]) => a + middle + b)
);
const host = fc.oneof(
  fc.constantFrom('localhost', 'docker.io', 'ghcr.io', '127.0.0.1', '[::1]', '[fe80::1:2]'),
  fc.array(domainComponent, { minLength: 1, maxLength: 4 }).map(parts => parts.join('.'))
);
const domain = fc
  .tuple(host, fc.option(fc.integer({ min: 0, max: 65535 })))
  .map(([name, port]) => (port === null ? name : `${name}:${port}`));

const tag = fc
  .tuple(
    stringOf(`${LOWER}${UPPER}${DIGITS}_`, 1, 1),
    stringOf(`${LOWER}${UPPER}${DIGITS}_.-`, 0, 127)
  )
  .map(([first, rest]) => first + rest);

const digest = fc.oneof(
  stringOf(HEX, 64, 64).map(hex => `sha256:${hex}`),
  stringOf(HEX, 128, 128).map(hex => `sha512:${hex}`),
  stringOf(`${LOWER}${UPPER}${DIGITS}=_-`, 32, 40).map(encoded => `multihash+base58:${encoded}`)
);

interface Generated {
  text: string;
  domain: string | undefined;
  path: string;
  tag: string | undefined;
  digest: string | undefined;
}

const reference: fc.Arbitrary<Generated> = fc
  .record({
    domain: fc.option(domain),
    components: fc.array(pathComponent, { minLength: 1, maxLength: 4 }),
    tag: fc.option(tag),
    digest: fc.option(digest)
  })
  .map(({ domain, components, tag, digest }) => {
    // Without a registry, a first component with a "." would be read as a host: keep it a path.
    const [first = '', ...rest] = components;
    const path = [domain === null ? first.replace(/\./g, '-') : first, ...rest].join('/');
    const name = domain === null ? path : `${domain}/${path}`;
    return {
      text: `${name}${tag === null ? '' : `:${tag}`}${digest === null ? '' : `@${digest}`}`,
      // A first element counts as a registry only when it looks like a host.
      domain:
        domain !== null &&
        (/[.:]/.test(domain) || domain === 'localhost' || domain !== domain.toLowerCase())
          ? domain
          : undefined,
      path: domain === null ? path : `${domain}/${path}`,
      tag: tag ?? undefined,
      digest: digest ?? undefined
    };
  })
  .map(generated =>
    generated.domain === undefined
      ? generated
      : { ...generated, path: generated.path.slice(generated.domain.length + 1) }
  );

describe('parseImageReference', () => {
  it('reads a generated reference into its parts and writes it back', () => {
    check(
      'parseImageReference',
      reference,
      generated => {
        const result = parseOrReject('image', () => parseImageReference('image', generated.text));
        const fullName = generated.domain
          ? `${generated.domain}/${generated.path}`
          : generated.path;
        if (fullName.length > 255) {
          assert.equal(result, REJECTED);
          return;
        }
        assert.notEqual(result, REJECTED);
        if (result === REJECTED) return;
        const implicitLibrary = generated.domain === undefined && !generated.path.includes('/');
        assert.deepEqual(result, {
          domain: generated.domain ?? 'docker.io',
          path: implicitLibrary ? `library/${generated.path}` : generated.path,
          tag: generated.tag,
          digest: generated.digest,
          explicitDomain: generated.domain !== undefined
        });
        // Written back as given; only Docker Hub's `library/<name>` is shortened to `<name>`.
        const canonical =
          generated.domain === undefined && /^library\/[^/]+$/.test(generated.path)
            ? generated.text.slice('library/'.length)
            : generated.text;
        assert.equal(formatReference(result), canonical);
        const pinned = parseImageReference('image', pinDigest(result, `sha256:${'a'.repeat(64)}`));
        assert.equal(repositoryName(pinned), repositoryName(result));
        assert.equal(pinned.domain, result.domain);
        assert.equal(pinned.path, result.path);
      },
      5000
    );
  });

  it('refuses or accepts any string without another kind of error; what it accepts is stable', () => {
    check(
      'parseImageReference',
      inputsAround(reference.map(r => r.text)),
      raw => {
        const result = parseOrReject('image', () => parseImageReference('image', raw));
        if (result === REJECTED) return;
        const written = formatReference(result);
        assert.deepEqual(parseImageReference('image', written), result);
        assert.ok(repositoryName(result).length <= 255);
        assert.match(result.path, /^[a-z0-9._/-]+$/);
        if (result.tag !== undefined) assert.match(result.tag, /^\w[\w.-]{0,127}$/);
        if (result.digest?.startsWith('sha256:'))
          assert.match(result.digest, /^sha256:[0-9a-f]{64}$/);
      },
      5000
    );
  });

  it('holds the limits: a name of at most 255 characters, a tag of at most 128', () => {
    const arbitrary = fc.record({
      domain: fc.constantFrom('', 'registry.example:5000/'),
      nameLength: fc.constantFrom(30, 254, 255, 256),
      tagLength: fc.constantFrom(0, 1, 127, 128, 129)
    });
    check('parseImageReference', arbitrary, ({ domain: d, nameLength, tagLength }) => {
      const pathLength = nameLength - d.length;
      const path = Array.from({ length: pathLength }, (_, i) => (i % 20 === 19 ? '/' : 'a'))
        .join('')
        .replace(/\/$/, 'a');
      const t = 'v'.repeat(tagLength);
      const text = `${d}${path}${t ? `:${t}` : ''}`;
      const result = parseOrReject('image', () => parseImageReference('image', text));
      assert.equal(result === REJECTED, nameLength > 255 || tagLength > 128);
    });
  });

  it('handles a 64 KiB near-miss quickly (no catastrophic backtracking)', () => {
    const long = fc
      .tuple(
        fc.constantFrom('a', 'a-', 'a.', 'a_', 'a__', 'A', '0'),
        fc.constantFrom('!', '/', ':', '@', '-', '.', '/.'),
        fc.boolean()
      )
      .map(([unit, tail, asDomain]) => {
        const body = unit.repeat(Math.ceil(65536 / unit.length));
        return asDomain ? `${body}.x${tail}/app` : `${body}${tail}`;
      });
    check(
      'parseImageReference',
      long,
      raw => {
        const started = performance.now();
        parseOrReject('image', () => parseImageReference('image', raw));
        assert.ok(performance.now() - started < 250, `took ${performance.now() - started} ms`);
      },
      100
    );
  });
});

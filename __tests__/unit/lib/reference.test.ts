import { describe, expect, it } from '@jest/globals';
import {
  formatReference,
  parseImageReference,
  pinDigest,
  repositoryName
} from '../../../src/lib/reference.js';

const digest = `sha256:${'ab'.repeat(32)}`;

describe('parseImageReference', () => {
  it.each([
    [
      '127.0.0.1:25000/slipway/app:1.0',
      { domain: '127.0.0.1:25000', path: 'slipway/app', tag: '1.0', digest: undefined }
    ],
    ['localhost/app', { domain: 'localhost', path: 'app', tag: undefined }],
    ['ghcr.io/org/team/app@' + digest, { domain: 'ghcr.io', path: 'org/team/app', digest }],
    [
      'registry.example.com:5000/a/b:v1@' + digest,
      { domain: 'registry.example.com:5000', tag: 'v1', digest }
    ],
    ['nginx', { domain: 'docker.io', path: 'library/nginx', explicitDomain: false }],
    ['kiamol/buildkit-buildpacks', { domain: 'docker.io', path: 'kiamol/buildkit-buildpacks' }],
    ['my_org/app__x.y-z:tag_1.2-3', { path: 'my_org/app__x.y-z', tag: 'tag_1.2-3' }],
    ['[::1]:5000/app:1', { domain: '[::1]:5000', path: 'app' }]
  ])('parses %j', (raw, expected) => {
    expect(parseImageReference('image', raw)).toMatchObject(expected);
  });

  it.each([
    'App',
    'registry.io/App',
    'app:',
    'app:-tag',
    'a//b',
    'app@sha256:abc',
    `app@sha256:${'g'.repeat(64)}`,
    'app:tag with space',
    'http://registry/app',
    'app;rm -rf /',
    '-app',
    `registry.io/${'a'.repeat(260)}`
  ])('rejects %j naming the input', raw => {
    expect(() => parseImageReference('image', raw)).toThrow(
      /^Input "image" (must be an image reference|has a repository name longer)/
    );
  });

  it('requires a value', () => {
    expect(() => parseImageReference('image', '')).toThrow('Input "image" is required');
  });
});

describe('formatting', () => {
  it('keeps the name as written and pins digests', () => {
    const ref = parseImageReference('image', '127.0.0.1:25000/slipway/app:1');
    expect(repositoryName(ref)).toBe('127.0.0.1:25000/slipway/app');
    expect(formatReference(ref)).toBe('127.0.0.1:25000/slipway/app:1');
    expect(pinDigest(ref, digest)).toBe(`127.0.0.1:25000/slipway/app@${digest}`);
  });

  it('does not expand Docker Hub short names', () => {
    expect(repositoryName(parseImageReference('image', 'nginx:1'))).toBe('nginx');
    expect(formatReference(parseImageReference('image', `org/app@${digest}`))).toBe(
      `org/app@${digest}`
    );
  });

  // Found by the property tests: every `library/` prefix was stripped, so `library/team/app`
  // was built, pushed and pinned as `team/app`, another Docker Hub repository.
  it('shortens only the official-image form library/<name>', () => {
    expect(repositoryName(parseImageReference('image', 'library/nginx'))).toBe('nginx');
    const nested = parseImageReference('image', 'library/team/app:1');
    expect(repositoryName(nested)).toBe('library/team/app');
    expect(formatReference(nested)).toBe('library/team/app:1');
    expect(pinDigest(nested, digest)).toBe(`library/team/app@${digest}`);
  });
});

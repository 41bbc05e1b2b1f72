import { describe, expect, it } from '@jest/globals';
import {
  ProgressTracker,
  buildErrorMessage,
  buildctlArgs,
  cacheArg,
  classifyFailure,
  csvField,
  expandImageNames,
  failingDockerfileLine,
  imageName,
  isGitContext,
  outputArg,
  parseCacheSpec,
  parseCsvFields,
  parseGitContext,
  parseMetadata,
  parseSecretSpec,
  resolvePlaceholders,
  selectFrontend,
  type BuildSpec
} from '../../../src/lib/buildkit/index.js';
import { InputError, SlipwayError } from '../../../src/lib/errors.js';
import { parseImageReference } from '../../../src/lib/reference.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;

describe('git contexts', () => {
  it.each([
    ['https://git.example.com/team/app.git', true],
    ['git://git.example.com/app.git', true],
    ['ssh://git@git.example.com/app.git', true],
    ['git@github.com:org/app.git', true],
    ['.', false],
    ['src/app', false],
    ['/abs/dir', false]
  ])('recognises %s as git: %s', (raw, expected) => {
    expect(isGitContext(raw)).toBe(expected);
  });

  it('splits the #ref:subdir fragment and keeps the URL whole for BuildKit', () => {
    expect(parseGitContext('context', 'https://git.local/a/app.git#v1.0.0:app')).toEqual({
      kind: 'git',
      url: 'https://git.local/a/app.git#v1.0.0:app',
      repository: 'https://git.local/a/app.git',
      ref: 'v1.0.0',
      subdir: 'app'
    });
    expect(parseGitContext('context', 'git://h/app.git#main')).toMatchObject({
      ref: 'main',
      subdir: undefined
    });
    expect(parseGitContext('context', 'https://h/app.git#:sub/dir')).toMatchObject({
      ref: undefined,
      subdir: 'sub/dir'
    });
  });

  it('refuses an http(s) URL BuildKit would fetch as a tarball', () => {
    expect(() => parseGitContext('context', 'https://git.local/a/app#main')).toThrow(/\.git/);
  });

  it('refuses passwords in the URL without echoing them', () => {
    let error: unknown;
    try {
      parseGitContext('context', 'https://user:hunter22@git.local/app.git');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InputError);
    expect((error as Error).message).not.toContain('hunter22');
  });

  it('refuses a subdir that leaves the repository and malformed URLs', () => {
    expect(() => parseGitContext('context', 'https://h/app.git#main:../x')).toThrow(/leaves/);
    expect(() => parseGitContext('context', 'https://h/app.git#main:/etc')).toThrow(/leaves/);
    expect(() => parseGitContext('context', 'https:// bad.git')).toThrow(InputError);
  });
});

describe('selectFrontend', () => {
  const local = { kind: 'local' as const, dir: '/src' };
  const git = parseGitContext('context', 'https://h/app.git');

  it('auto picks the Dockerfile frontend only when a Dockerfile exists', () => {
    expect(selectFrontend('auto', local, true)).toBe('dockerfile');
    expect(selectFrontend('auto', local, false)).toBe('buildpacks');
    expect(selectFrontend('auto', git, false)).toBe('dockerfile');
  });

  it('honours an explicit choice', () => {
    expect(selectFrontend('gateway', local, true)).toBe('gateway');
    expect(selectFrontend('dockerfile', local, false)).toBe('dockerfile');
  });
});

describe('parseSecretSpec', () => {
  it('reads file and env secrets', () => {
    expect(parseSecretSpec('secrets', 'id=npmrc,src=/run/npmrc')).toEqual({
      id: 'npmrc',
      source: { type: 'file', path: '/run/npmrc' }
    });
    expect(parseSecretSpec('secrets', 'id=token, env=API_TOKEN')).toEqual({
      id: 'token',
      source: { type: 'env', name: 'API_TOKEN' }
    });
  });

  it.each([
    'src=/x',
    'id=a',
    'id=a,src=/x,env=B',
    'id=a,value=plaintext',
    'id=a b,env=X',
    'id=a,env=1BAD'
  ])('rejects %j', line => {
    expect(() => parseSecretSpec('secrets', line)).toThrow(InputError);
  });
});

describe('cache specs', () => {
  it('reads full specs and the bare-reference shorthand', () => {
    expect(parseCacheSpec('cache-from', 'type=registry,ref=r.io/app:cache,mode=max')).toEqual({
      type: 'registry',
      attrs: [
        ['ref', 'r.io/app:cache'],
        ['mode', 'max']
      ]
    });
    expect(parseCacheSpec('cache-from', 'r.io/app:cache')).toEqual({
      type: 'registry',
      attrs: [['ref', 'r.io/app:cache']]
    });
    expect(parseCacheSpec('cache-to', 'type=inline')).toEqual({ type: 'inline', attrs: [] });
  });

  it.each([
    'type=nope',
    'ref=r.io/app:cache',
    'type=registry',
    'type=registry,ref=UPPER/Case',
    'type=local',
    'not a ref'
  ])('rejects %j', line => {
    expect(() => parseCacheSpec('cache-to', line)).toThrow(InputError);
  });

  it('adds ignore-error to exports only, and not to inline', () => {
    const registry = parseCacheSpec('cache-to', 'type=registry,ref=r.io/app:cache');
    expect(cacheArg(registry, 'export')).toBe('type=registry,ref=r.io/app:cache,ignore-error=true');
    expect(cacheArg(registry, 'import')).toBe('type=registry,ref=r.io/app:cache');
    expect(cacheArg(parseCacheSpec('cache-to', 'type=inline'), 'export')).toBe('type=inline');
    const strict = parseCacheSpec('cache-to', 'type=registry,ref=r.io/a:c,ignore-error=false');
    expect(cacheArg(strict, 'export')).toBe('type=registry,ref=r.io/a:c,ignore-error=false');
  });

  it('fills the gha cache service from the runner environment', () => {
    const gha = parseCacheSpec('cache-from', 'type=gha,scope=main');
    expect(
      cacheArg(gha, 'import', { ACTIONS_CACHE_URL: 'https://c/', ACTIONS_RUNTIME_TOKEN: 'tok' })
    ).toBe('type=gha,scope=main,url=https://c/,version=1,token=tok');
    expect(cacheArg(gha, 'import', {})).toBe('type=gha,scope=main,version=1');
  });
});

describe('tags and placeholders', () => {
  const env = { GITHUB_SHA: 'abcdef0123456789abcdef0123456789abcdef01', GITHUB_RUN_NUMBER: '42' };

  it('resolves placeholders from the runner environment', () => {
    expect(resolvePlaceholders('tags', 'build-{{run}}-{{ short-sha }}', env)).toBe(
      'build-42-abcdef0'
    );
    expect(resolvePlaceholders('tags', '{{sha}}', env)).toBe(env.GITHUB_SHA);
    expect(() => resolvePlaceholders('tags', '{{branch}}', env)).toThrow(/unknown placeholder/);
    expect(() => resolvePlaceholders('tags', '{{run}}', {})).toThrow(/GITHUB_RUN_NUMBER/);
  });

  it('gives each untagged image every tag, keeps written tags, and drops duplicates', () => {
    const names = expandImageNames(
      'image',
      'tags',
      ['r.io:5000/team/app', 'r.io:5000/team/app:fixed'],
      ['{{run}}', 'sha-{{short-sha}}', '42'],
      env
    ).map(imageName);
    expect(names).toEqual([
      'r.io:5000/team/app:42',
      'r.io:5000/team/app:sha-abcdef0',
      'r.io:5000/team/app:fixed'
    ]);
    expect(expandImageNames('image', 'tags', ['app'], [], env).map(imageName)).toEqual([
      'app:latest'
    ]);
  });

  it('rejects digests, bad tags, bad names and no image at all', () => {
    expect(() => expandImageNames('image', 'tags', [`r.io/app@${DIGEST}`], [], env)).toThrow(
      /not a digest/
    );
    expect(() => expandImageNames('image', 'tags', ['r.io/app'], ['-bad'], env)).toThrow(
      /Input "tags"/
    );
    expect(() => expandImageNames('image', 'tags', ['R.io/App'], [], env)).toThrow(/Input "image"/);
    expect(() => expandImageNames('image', 'tags', [], [], env)).toThrow(/required/);
  });
});

describe('buildctlArgs', () => {
  const base: BuildSpec = {
    addr: 'tcp://buildkitd:1234',
    context: { kind: 'local', dir: '/w/src' },
    frontend: 'dockerfile',
    frontendImage: 'docker.io/kiamol/buildkit-buildpacks:latest',
    dockerfileDir: '/w/src',
    dockerfileName: 'Dockerfile',
    target: undefined,
    buildArgs: [],
    labels: [],
    platforms: [],
    secrets: [],
    frontendOpts: [],
    images: [parseImageReference('image', 'r.io/u/app:1')],
    push: true,
    cacheFrom: [],
    cacheTo: [],
    provenance: undefined,
    sbom: undefined,
    metadataFile: '/tmp/m.json'
  };

  it('builds a local Dockerfile build', () => {
    expect(buildctlArgs(base)).toEqual([
      '--addr',
      'tcp://buildkitd:1234',
      'build',
      '--progress=plain',
      '--metadata-file',
      '/tmp/m.json',
      '--frontend=dockerfile.v0',
      '--local',
      'context=/w/src',
      '--local',
      'dockerfile=/w/src',
      '--opt',
      'filename=Dockerfile',
      '--output',
      'type=image,name=r.io/u/app:1,push=true'
    ]);
  });

  it("reproduces the seed's gateway build", () => {
    const args = buildctlArgs({
      ...base,
      frontend: 'gateway',
      dockerfileName: undefined,
      images: [parseImageReference('image', 'registry/user/bulletin-board:7-kiamol')]
    });
    expect(args.join(' ')).toBe(
      '--addr tcp://buildkitd:1234 build --progress=plain --metadata-file /tmp/m.json ' +
        '--frontend=gateway.v0 --opt source=docker.io/kiamol/buildkit-buildpacks:latest ' +
        '--local context=/w/src --local dockerfile=/w/src ' +
        '--output type=image,name=registry/user/bulletin-board:7-kiamol,push=true'
    );
  });

  it('passes a git context as the context option, with no local directories', () => {
    const args = buildctlArgs({
      ...base,
      addr: undefined,
      context: parseGitContext('context', 'https://h/app.git#v1:app'),
      dockerfileDir: undefined,
      dockerfileName: 'build/Dockerfile'
    });
    expect(args).not.toContain('--local');
    expect(args).not.toContain('--addr');
    expect(args).toEqual(
      expect.arrayContaining(['context=https://h/app.git#v1:app', 'filename=build/Dockerfile'])
    );
  });

  it('maps every option, secrets by reference only, and quotes multiple names', () => {
    const args = buildctlArgs(
      {
        ...base,
        target: 'runtime',
        buildArgs: [['VERSION', '1,2']],
        labels: [['org.opencontainers.image.source', 'https://x']],
        platforms: ['linux/amd64', 'linux/arm64'],
        secrets: [parseSecretSpec('secrets', 'id=tok,env=API_TOKEN')],
        frontendOpts: [['no-cache', '']],
        images: [
          parseImageReference('image', 'r.io/u/app:1'),
          parseImageReference('image', 'r.io/u/app:latest')
        ],
        push: false,
        cacheFrom: [parseCacheSpec('cache-from', 'r.io/u/app:cache')],
        cacheTo: [parseCacheSpec('cache-to', 'type=registry,ref=r.io/u/app:cache,mode=max')],
        provenance: 'mode=max',
        sbom: ''
      },
      {}
    );
    const pairs = (flag: string): string[] =>
      args.flatMap((arg, i) => (arg === flag ? [args[i + 1] ?? ''] : []));
    expect(pairs('--opt')).toEqual([
      'filename=Dockerfile',
      'target=runtime',
      'build-arg:VERSION=1,2',
      'label:org.opencontainers.image.source=https://x',
      'platform=linux/amd64,linux/arm64',
      'attest:provenance=mode=max',
      'attest:sbom=',
      'no-cache='
    ]);
    expect(pairs('--secret')).toEqual(['id=tok,env=API_TOKEN']);
    expect(pairs('--import-cache')).toEqual(['type=registry,ref=r.io/u/app:cache']);
    expect(pairs('--export-cache')).toEqual([
      'type=registry,ref=r.io/u/app:cache,mode=max,ignore-error=true'
    ]);
    expect(pairs('--output')).toEqual([
      'type=image,"name=r.io/u/app:1,r.io/u/app:latest",push=false'
    ]);
  });

  it('quotes CSV fields the way buildctl reads them back', () => {
    expect(csvField('a')).toBe('a');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(parseCsvFields('x', 'type=image,"name=a,b",push=true')).toEqual(
      new Map([
        ['type', 'image'],
        ['name', 'a,b'],
        ['push', 'true']
      ])
    );
    expect(() => parseCsvFields('x', 'a="b')).toThrow(/unterminated/);
    expect(outputArg([parseImageReference('i', 'a:1')], true)).toBe(
      'type=image,name=a:1,push=true'
    );
  });
});

describe('parseMetadata', () => {
  it('reads the manifest digest and image names', () => {
    const metadata = parseMetadata(
      JSON.stringify({
        'containerimage.digest': DIGEST,
        'containerimage.config.digest': `sha256:${'b'.repeat(64)}`,
        'image.name': 'r.io/app:1,r.io/app:latest'
      })
    );
    expect(metadata.digest).toBe(DIGEST);
    expect(metadata.imageNames).toEqual(['r.io/app:1', 'r.io/app:latest']);
    expect(metadata.raw['containerimage.config.digest']).toMatch(/^sha256:b/);
  });

  it('returns no digest rather than a malformed one, and rejects non-JSON', () => {
    expect(parseMetadata('{}').digest).toBeUndefined();
    expect(parseMetadata('').digest).toBeUndefined();
    expect(parseMetadata('{"containerimage.digest":"sha256:short"}').digest).toBeUndefined();
    expect(() => parseMetadata('not json')).toThrow(SlipwayError);
    expect(() => parseMetadata('[1]')).toThrow(/not a JSON object/);
  });
});

const FAILED_BUILD = `#1 [internal] load build definition from Dockerfile
#1 transferring dockerfile: 92B done
#1 DONE 0.0s

#2 [internal] load .dockerignore
#2 DONE 0.0s

#3 [internal] load build context
#3 transferring context: 1.2MB 0.1s done
#3 DONE 0.1s

#4 [1/3] COPY app /app
#4 CACHED

#5 [2/3] COPY config /config
#5 DONE 0.2s

#6 [3/3] RUN /app/selftest
#6 0.101 checking configuration
#6 0.102 missing key: greeting
#6 ERROR: process "/bin/sh -c /app/selftest" did not complete successfully: exit code: 1
------
 > [3/3] RUN /app/selftest:
0.102 missing key: greeting
------
Dockerfile:4
--------------------
   2 |     COPY app /app
   3 |     COPY config /config
>>>   4 |     RUN /app/selftest
--------------------
error: failed to solve: process "/bin/sh -c /app/selftest" did not complete successfully: exit code: 1`;

describe('ProgressTracker', () => {
  function track(text: string): ProgressTracker {
    const tracker = new ProgressTracker();
    for (const line of text.split('\n')) tracker.push(line);
    return tracker;
  }

  it('counts cached and executed build steps, not internal ones', () => {
    const tracker = track(FAILED_BUILD);
    expect(tracker.started).toBe(true);
    expect(tracker.counts()).toEqual({ cached: 1, executed: 1 });
  });

  it('finds the failing step and its own log tail', () => {
    const step = track(FAILED_BUILD).failedStep();
    expect(step?.name).toBe('[3/3] RUN /app/selftest');
    expect(step?.log).toContain('missing key: greeting');
    expect(step?.log).not.toContain('transferring context');
  });

  it('has nothing to report before the builder answered', () => {
    const tracker = track('error: failed to dial');
    expect(tracker.started).toBe(false);
    expect(tracker.failedStep()).toBeUndefined();
    expect(tracker.counts()).toEqual({ cached: 0, executed: 0 });
  });

  it('reports a cache export that failed while the build went on (ignore-error)', () => {
    const tracker = track(
      [
        '#5 exporting to image',
        '#5 DONE 0.0s',
        '#6 exporting cache to registry',
        '#6 preparing build cache for export done',
        '#6 ERROR: error writing layer blob: dial tcp 127.0.0.1:1: connect: connection refused',
        '------',
        ' > exporting cache to registry:'
      ].join('\n')
    );
    expect(tracker.cacheFailures()).toEqual([
      {
        name: 'exporting cache to registry',
        error: 'error writing layer blob: dial tcp 127.0.0.1:1: connect: connection refused'
      }
    ]);
    expect(track(FAILED_BUILD).cacheFailures()).toEqual([]);
  });

  it('does not count exporting and pushing as build steps', () => {
    const tracker = track(
      '#7 exporting to image\n#7 exporting layers done\n#7 pushing layers 0.1s done\n#7 DONE 0.3s\n#8 [1/1] COPY a /a\n#8 DONE 0.1s'
    );
    expect(tracker.counts()).toEqual({ cached: 0, executed: 1 });
  });
});

describe('classifyFailure', () => {
  it('treats a failed step as a build failure, never transient', () => {
    expect(classifyFailure(FAILED_BUILD, true)).toBe('build');
  });

  it('recognises a push 401', () => {
    const output =
      '#9 exporting to image\n#9 pushing layers\n#9 ERROR: failed to push 127.0.0.1:25000/app:1: failed to authorize: failed to fetch oauth token: unexpected status from GET request to https://127.0.0.1:25000/token: 401 Unauthorized\nerror: failed to solve: failed to push';
    expect(classifyFailure(output, true)).toBe('unauthorized');
  });

  it('recognises an unreachable builder only before any progress', () => {
    const output =
      'error: listing workers: failed to list workers: Unavailable: connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:1: connect: connection refused"';
    expect(classifyFailure(output, false)).toBe('unreachable');
  });

  it('recognises a builder that went away mid-build (buildkitd killed after progress began)', () => {
    const output =
      '#5 [internal] load build context\n#5 transferring context: 81.79MB 1.0s\nerror: failed to receive status: rpc error: code = Unavailable desc = error reading from server: EOF';
    expect(classifyFailure(output, true)).toBe('builder-lost');
    // Before any progress the same words mean the builder was never reached.
    expect(classifyFailure(output, false)).not.toBe('builder-lost');
  });

  it.each([
    'error: failed to receive status: rpc error: code = Unavailable desc = closing transport due to: connection error: desc = "error reading from server: command [kubectl --context= --namespace=ns exec --container= -i slipway-buildkitd-1 -- buildctl dial-stdio] has exited with exit status 137, make sure the URL is valid"',
    'error: failed to solve: Unavailable: closing transport due to: connection error: desc = "error reading from server: command [kubectl --context= --namespace=ns exec --container= -i slipway-buildkitd-1 -- buildctl dial-stdio] has exited with exit status 137"'
  ])('recognises a builder pod deleted mid-build (kube-pod://: kubectl exec ends): %s', line => {
    expect(classifyFailure(`#6 [3/3] RUN ["/sample-app"]\n${line}`, true)).toBe('builder-lost');
  });

  it.each([
    'error: failed to solve: failed to push r.io/app:1: unexpected status from PUT request: 503 Service Unavailable',
    'error: failed to solve: read tcp 10.0.0.1:443: read: connection reset by peer',
    'error: failed to copy: httpReadSeeker: failed open: unexpected status code https://r.io/v2/x: 502 Bad Gateway'
  ])('treats %j as transient', output => {
    expect(classifyFailure(output, true)).toBe('transient');
  });

  it('recognises a missing Dockerfile and a frontend that cannot load', () => {
    expect(
      classifyFailure(
        'error: failed to solve: failed to read dockerfile: open Dockerfile: no such file or directory',
        true
      )
    ).toBe('no-dockerfile');
    expect(
      classifyFailure(
        'error: failed to solve: r.io/frontend:nope: failed to resolve source metadata for r.io/frontend:nope: not found',
        true
      )
    ).toBe('frontend');
  });
});

describe('error details', () => {
  it('finds the failing Dockerfile line and the final error message', () => {
    expect(failingDockerfileLine(FAILED_BUILD)).toBe(4);
    expect(failingDockerfileLine('no line here')).toBeUndefined();
    expect(buildErrorMessage(FAILED_BUILD)).toBe(
      'failed to solve: process "/bin/sh -c /app/selftest" did not complete successfully: exit code: 1'
    );
    expect(buildErrorMessage('nothing')).toBeUndefined();
  });
});

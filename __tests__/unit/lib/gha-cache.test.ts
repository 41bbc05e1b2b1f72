import { afterAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readConfig } from '../../../src/buildpack-build/config.js';
import {
  ProgressTracker,
  cacheArg,
  cacheRefs,
  cacheServiceV2,
  ghaScope,
  parseCacheSpec,
  readDefaultBranch,
  withGhaScopes
} from '../../../src/lib/buildkit/index.js';
import { Inputs } from '../../../src/lib/inputs.js';
import { parseImageReference } from '../../../src/lib/reference.js';

const root = mkdtempSync(path.join(tmpdir(), 'slipway-gha-cache-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
writeFileSync(path.join(root, 'Dockerfile'), 'FROM scratch\n');

const app = parseImageReference('image', 'registry.example.com/team/app:1');
const api = parseImageReference('image', 'registry.example.com/team/api:1');

describe('the gha cache service from the runner environment', () => {
  const gha = parseCacheSpec('cache-from', 'type=gha,scope=s');
  const token = { ACTIONS_RUNTIME_TOKEN: 'tok' };

  it('speaks v1 to ACTIONS_CACHE_URL unless the runner offers v2 (act, GHES)', () => {
    // act sets ACTIONS_RESULTS_URL to its artifact server: it must not select v2.
    const act = {
      ...token,
      ACTIONS_CACHE_URL: 'http://127.0.0.1:4000/abc/',
      ACTIONS_RESULTS_URL: 'http://127.0.0.1:34567/'
    };
    expect(cacheArg(gha, 'import', act)).toBe(
      'type=gha,scope=s,url=http://127.0.0.1:4000/abc/,version=1,token=tok'
    );
  });

  it('speaks v2 to ACTIONS_RESULTS_URL when ACTIONS_CACHE_SERVICE_V2 is set (github.com)', () => {
    const hosted = {
      ...token,
      ACTIONS_CACHE_SERVICE_V2: 'True',
      ACTIONS_CACHE_URL: 'https://artifactcache.example/x/',
      ACTIONS_RESULTS_URL: 'https://results-receiver.example/'
    };
    expect(cacheArg(gha, 'export', hosted)).toBe(
      'type=gha,scope=s,ignore-error=true,url_v2=https://results-receiver.example/,version=2,token=tok'
    );
  });

  it.each([
    [undefined, false],
    ['', false],
    ['false', false],
    ['0', false],
    ['true', true],
    ['1', true]
  ])('ACTIONS_CACHE_SERVICE_V2=%j means v2: %j', (value, v2) => {
    expect(cacheServiceV2({ ACTIONS_CACHE_SERVICE_V2: value })).toBe(v2);
  });

  it('keeps what the spec sets: url, url_v2, version, token', () => {
    const env = { ...token, ACTIONS_CACHE_SERVICE_V2: 'true', ACTIONS_RESULTS_URL: 'https://r/' };
    expect(cacheArg(parseCacheSpec('cache-from', 'type=gha,url=http://own/'), 'import', env)).toBe(
      'type=gha,url=http://own/,version=1,token=tok'
    );
    expect(
      cacheArg(parseCacheSpec('cache-from', 'type=gha,version=1,token=t2'), 'import', {
        ...env,
        ACTIONS_CACHE_URL: 'http://c/'
      })
    ).toBe('type=gha,version=1,token=t2,url=http://c/');
    expect(
      cacheArg(parseCacheSpec('cache-from', 'type=gha,url_v2=https://v2/'), 'import', {})
    ).toBe('type=gha,url_v2=https://v2/,version=2');
  });

  it('passes no URL or token where the runner has none', () => {
    expect(cacheArg(gha, 'import', {})).toBe('type=gha,scope=s,version=1');
  });
});

describe('the default gha scope', () => {
  const parts = { images: [app], target: undefined, platforms: [] as string[] };

  it('is the image repository and the ref', () => {
    expect(ghaScope(parts, 'main')).toBe('registry.example.com/team/app@main');
    expect(ghaScope({ ...parts, images: [api] }, 'main')).toBe(
      'registry.example.com/team/api@main'
    );
    expect(ghaScope(parts, undefined)).toBe('registry.example.com/team/app');
  });

  it('adds the target and the platforms, which make another cache of the same image', () => {
    expect(ghaScope({ ...parts, target: 'build', platforms: ['linux/arm64'] }, 'v1.2.0')).toBe(
      'registry.example.com/team/app#build[linux/arm64]@v1.2.0'
    );
    expect(ghaScope({ ...parts, platforms: ['linux/amd64', 'linux/arm64'] }, 'main')).toBe(
      'registry.example.com/team/app[linux/amd64+linux/arm64]@main'
    );
  });

  it('never holds a comma (cache keys are listed comma-separated)', () => {
    expect(ghaScope(parts, 'feature,x y')).toBe('registry.example.com/team/app@feature_x_y');
  });

  it('reads the ref, then a pull request base and the default branch', () => {
    expect(cacheRefs({ GITHUB_REF_NAME: 'feature' }, 'main')).toEqual(['feature', 'main']);
    expect(cacheRefs({ GITHUB_REF_NAME: '42/merge', GITHUB_BASE_REF: 'release' }, 'main')).toEqual([
      '42/merge',
      'release',
      'main'
    ]);
    expect(cacheRefs({ GITHUB_REF_NAME: 'main' }, 'main')).toEqual(['main']);
    expect(cacheRefs({}, undefined)).toEqual([]);
  });

  it('finds the default branch in the event payload, if any', () => {
    const event = path.join(root, 'event.json');
    writeFileSync(event, JSON.stringify({ repository: { default_branch: 'trunk' } }));
    expect(readDefaultBranch({ GITHUB_EVENT_PATH: event })).toBe('trunk');
    expect(cacheRefs({ GITHUB_REF_NAME: 'v1.0.0', GITHUB_EVENT_PATH: event })).toEqual([
      'v1.0.0',
      'trunk'
    ]);
    writeFileSync(event, '{"inputs":{}}');
    expect(readDefaultBranch({ GITHUB_EVENT_PATH: event })).toBeUndefined();
    writeFileSync(event, 'not json');
    expect(readDefaultBranch({ GITHUB_EVENT_PATH: event })).toBeUndefined();
    expect(readDefaultBranch({ GITHUB_EVENT_PATH: path.join(root, 'missing.json') })).toBe(
      undefined
    );
  });

  it('exports to the own ref only, imports from every ref, leaves explicit scopes alone', () => {
    const refs = ['42/merge', 'main'];
    const specs = ['type=gha,mode=max', 'type=gha,scope=mine', 'type=registry,ref=r.io/a:c'].map(
      line => parseCacheSpec('cache-to', line)
    );
    const scopes = (direction: 'import' | 'export') =>
      withGhaScopes(specs, direction, parts, refs).map(spec => cacheArg(spec, direction, {}));
    expect(scopes('export')).toEqual([
      'type=gha,mode=max,scope=registry.example.com/team/app@42/merge,ignore-error=true,version=1',
      'type=gha,scope=mine,ignore-error=true,version=1',
      'type=registry,ref=r.io/a:c,ignore-error=true'
    ]);
    expect(scopes('import')).toEqual([
      'type=gha,mode=max,scope=registry.example.com/team/app@42/merge,version=1',
      'type=gha,mode=max,scope=registry.example.com/team/app@main,version=1',
      'type=gha,scope=mine,version=1',
      'type=registry,ref=r.io/a:c'
    ]);
  });

  it('is what the action builds with (buildpack-build inputs, runner environment)', () => {
    const config = readConfig(
      new Inputs(
        name =>
          ({
            context: root,
            image: 'registry.example.com/team/app',
            tags: '7',
            'cache-from': 'type=gha',
            'cache-to': 'type=gha,mode=max'
          })[name] ?? ''
      ),
      { GITHUB_REF_NAME: 'feature', GITHUB_BASE_REF: 'main' }
    );
    expect(config.cacheTo).toEqual([
      {
        type: 'gha',
        attrs: [
          ['mode', 'max'],
          ['scope', 'registry.example.com/team/app@feature']
        ]
      }
    ]);
    expect(config.cacheFrom.map(spec => spec.attrs)).toEqual([
      [['scope', 'registry.example.com/team/app@feature']],
      [['scope', 'registry.example.com/team/app@main']]
    ]);
  });
});

describe('cache failures in the progress log', () => {
  const LOG = `#3 importing cache manifest from gha:2148217714371085539
#3 ERROR: Get "http://127.0.0.1:9/_apis/artifactcache/cache?keys=index-f-1-e3b0c442": dial tcp 127.0.0.1:9: connect: connection refused

#4 [1/2] COPY stamp /stamp
#4 DONE 0.0s

#5 [2/2] RUN ["/stamp", "/one"]
#5 DONE 1.1s

#6 exporting to image
#6 DONE 0.1s

#7 exporting to GitHub Actions Cache
#7 preparing build cache for export done
#7 ERROR: Get "http://127.0.0.1:9/_apis/artifactcache/cache?keys=buildkit-blob-1-sha256": dial tcp 127.0.0.1:9: connect: connection refused

#8 exporting cache to registry
#8 ERROR: unexpected status from PUT request: 403 Forbidden`;

  it('lists failed cache imports and exports with their error, not other steps', () => {
    const tracker = new ProgressTracker();
    for (const line of LOG.split('\n')) tracker.push(line);
    expect(tracker.cacheFailures()).toEqual([
      {
        name: 'importing cache manifest from gha:2148217714371085539',
        error:
          'Get "http://127.0.0.1:9/_apis/artifactcache/cache?keys=index-f-1-e3b0c442": dial tcp 127.0.0.1:9: connect: connection refused'
      },
      {
        name: 'exporting to GitHub Actions Cache',
        error:
          'Get "http://127.0.0.1:9/_apis/artifactcache/cache?keys=buildkit-blob-1-sha256": dial tcp 127.0.0.1:9: connect: connection refused'
      },
      {
        name: 'exporting cache to registry',
        error: 'unexpected status from PUT request: 403 Forbidden'
      }
    ]);
    expect(tracker.counts()).toEqual({ cached: 0, executed: 2 });
  });
});

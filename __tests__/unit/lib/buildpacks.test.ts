import { describe, expect, it } from '@jest/globals';
import {
  buildpacksArgs,
  buildpacksDockerfile,
  cnbCacheId,
  cnbRegistryAuth,
  creatorArgs,
  lifecycleExit,
  parseBuildpackEnv,
  parseBuildpackRef,
  parseDockerfileImage,
  parseReport,
  platformFiles,
  summarizeLifecycle,
  type BuildpacksSpec
} from '../../../src/lib/buildkit/index.js';
import { InputError } from '../../../src/lib/errors.js';
import { parseImageReference } from '../../../src/lib/reference.js';

const DIGEST = `sha256:${'b'.repeat(64)}`;

function spec(overrides: Partial<BuildpacksSpec> = {}): BuildpacksSpec {
  return {
    builder: 'registry.example.com/cnb/builder:1',
    runImage: undefined,
    buildpacks: [],
    env: [],
    images: [parseImageReference('image', 'registry.example.com/team/app:7')],
    insecureRegistries: [],
    ...overrides
  };
}

describe('buildpacks inputs', () => {
  it('parses buildpack references', () => {
    expect(parseBuildpackRef('buildpacks', 'paketo-buildpacks/nodejs')).toEqual({
      id: 'paketo-buildpacks/nodejs',
      version: undefined,
      image: undefined
    });
    expect(
      parseBuildpackRef(
        'buildpacks',
        'paketo-buildpacks/procfile@5.13.4=docker.io/paketobuildpacks/procfile:5.13.4'
      )
    ).toEqual({
      id: 'paketo-buildpacks/procfile',
      version: '5.13.4',
      image: 'docker.io/paketobuildpacks/procfile:5.13.4'
    });
  });

  it.each(['a b', 'x@1;rm', 'x@1=img:1 $(id)', 'x=docker.io/a:1', '../x', 'x@'])(
    'refuses buildpack reference %j',
    line => {
      expect(() => parseBuildpackRef('buildpacks', line)).toThrow(InputError);
    }
  );

  it('refuses images that are not plain references, and CNB_* variables', () => {
    expect(() => parseDockerfileImage('builder', 'a:1\nRUN x')).toThrow(/Input "builder"/);
    expect(() => parseDockerfileImage('builder', 'a:1 AS x')).toThrow(/Input "builder"/);
    expect(parseDockerfileImage('builder', ' a.io/b/c:1 ')).toBe('a.io/b/c:1');
    expect(() => parseBuildpackEnv('buildpack-env', [['CNB_USER_ID', '0']])).toThrow(/CNB_/);
    expect(() => parseBuildpackEnv('buildpack-env', [['BP-X', '1']])).toThrow(InputError);
    expect(() => parseBuildpackEnv('buildpack-env', [['BP_NODE_VERSION', '22']])).not.toThrow();
  });
});

describe('the generated build definition', () => {
  it('runs the creator from the builder with the secret, the cache and the platform mounts', () => {
    const dockerfile = buildpacksDockerfile(spec());
    expect(dockerfile.split('\n')).toEqual([
      'FROM registry.example.com/cnb/builder:1 AS build',
      'USER root',
      'COPY --chown=${CNB_USER_ID}:${CNB_GROUP_ID} . /workspace',
      'ENV CNB_PLATFORM_API=0.13',
      'ARG SLIPWAY_BUILD_NONCE',
      'RUN --mount=type=secret,id=cnb-registry-auth,env=CNB_REGISTRY_AUTH --mount=type=cache,id=slipway-cnb-registry.example.com-team-app,target=/cnb-cache --mount=type=bind,from=cnb-platform,target=/platform ["/cnb/lifecycle/creator","-app=/workspace","-layers=/layers","-cache-dir=/cnb-cache","-platform=/platform","-previous-image=registry.example.com/team/app:7","-report=/layers/report.toml","registry.example.com/team/app:7"]',
      'FROM scratch',
      'COPY --from=build /layers/report.toml /report.toml',
      ''
    ]);
  });

  it('adds the run image, more tags, an order, buildpack images and insecure registries', () => {
    const s = spec({
      runImage: 'r.io/run:1',
      images: ['r.io/app:1', 'r.io/app:latest'].map(name => parseImageReference('image', name)),
      buildpacks: [{ id: 'a/b', version: '1.0.0', image: 'r.io/bp:1' }],
      insecureRegistries: ['r.io']
    });
    expect(creatorArgs(s)).toEqual([
      '/cnb/lifecycle/creator',
      '-app=/workspace',
      '-layers=/layers',
      '-cache-dir=/cnb-cache',
      '-platform=/platform',
      '-previous-image=r.io/app:1',
      '-report=/layers/report.toml',
      '-run-image=r.io/run:1',
      '-order=/platform/order.toml',
      '-tag=r.io/app:latest',
      'r.io/app:1'
    ]);
    const dockerfile = buildpacksDockerfile(s);
    expect(dockerfile).toContain('COPY --from=r.io/bp:1 /cnb/buildpacks/ /cnb/buildpacks/');
    expect(dockerfile).toContain('ENV CNB_INSECURE_REGISTRIES=r.io');
    expect(cnbCacheId(s.images)).toBe('slipway-cnb-r.io-app');
  });

  it('writes build-time variables and the order as platform files', () => {
    const files = platformFiles(
      spec({
        env: [['BP_NODE_VERSION', '22 "quoted"\nline']],
        buildpacks: [
          { id: 'a/b', version: '1.0.0', image: undefined },
          { id: 'c/d', version: undefined, image: undefined }
        ]
      })
    );
    expect(files.get('env/BP_NODE_VERSION')).toBe('22 "quoted"\nline');
    expect(files.get('order.toml')).toBe(
      '[[order]]\n  [[order.group]]\n    id = "a/b"\n    version = "1.0.0"\n  [[order.group]]\n    id = "c/d"\n'
    );
  });

  it('passes the context, definition, platform dir, secret and a local output to buildctl', () => {
    const args = buildpacksArgs({
      addr: 'tcp://b:1234',
      context: { kind: 'local', dir: '/src' },
      dockerfileDir: '/t/definition',
      platformDir: '/t/platform',
      authFile: '/t/auth.json',
      outputDir: '/t/out',
      metadataFile: '/t/metadata.json',
      nonce: 'n1'
    });
    expect(args.join(' ')).toBe(
      '--addr tcp://b:1234 build --progress=plain --metadata-file /t/metadata.json --frontend=dockerfile.v0 --local context=/src --local dockerfile=/t/definition --local cnb-platform=/t/platform --opt context:cnb-platform=local:cnb-platform --opt build-arg:SLIPWAY_BUILD_NONCE=n1 --secret id=cnb-registry-auth,src=/t/auth.json --output type=local,dest=/t/out'
    );
  });

  it('takes a git source as a named context, so no Dockerfile is read from the repository', () => {
    const url = 'http://git.local/app.git#main:web';
    const args = buildpacksArgs({
      addr: undefined,
      context: {
        kind: 'git',
        url,
        repository: 'http://git.local/app.git',
        ref: 'main',
        subdir: 'web'
      },
      dockerfileDir: '/t/definition',
      platformDir: '/t/platform',
      authFile: '/t/auth.json',
      outputDir: '/t/out',
      metadataFile: '/t/metadata.json',
      nonce: 'n1'
    });
    expect(args.join(' ')).toContain(
      `--local context=/t/definition --opt context:cnb-source=${url} --local dockerfile=/t/definition`
    );
    expect(args.join(' ')).not.toContain(`--opt context=${url}`);
    expect(buildpacksDockerfile(spec(), 'git')).toContain(
      'COPY --chown=${CNB_USER_ID}:${CNB_GROUP_ID} --from=cnb-source . /workspace\n'
    );
  });

  it('builds CNB_REGISTRY_AUTH for the registries the lifecycle uses only', () => {
    const auths = new Map([
      ['r.io', 'dTpw'],
      ['other.io', 'eDp5']
    ]);
    expect(cnbRegistryAuth(auths, ['r.io', 'missing.io'])).toEqual({ 'r.io': 'Basic dTpw' });
  });
});

describe("the lifecycle's report and log", () => {
  it('reads report.toml', () => {
    expect(
      parseReport(
        `[build]\n  x = 1\n[image]\n  tags = ["r.io/app:1", "r.io/app:2"]\n  digest = "${DIGEST}"\n  manifest-size = 1370\n`
      )
    ).toEqual({ digest: DIGEST, tags: ['r.io/app:1', 'r.io/app:2'], manifestSize: 1370 });
    expect(parseReport('[image]\n  digest = "sha256:short"\n').digest).toBeUndefined();
  });

  it('counts reused and added layers and reads the detected group', () => {
    const output = [
      '#10 0.333 \x1b[36m===> DETECTING\x1b[0m',
      '#10 0.337 slipway/procfile 0.1.0',
      '#10 0.337 \x1b[36m===> RESTORING\x1b[0m',
      "#10 0.381 Reusing layer 'slipway/procfile:processes'",
      "#10 0.392 Adding layer 'buildpacksio/lifecycle:launch.sbom'",
      '#10 0.410 Reused 1/1 app layer(s)',
      "#10 0.424 Reusing layer 'buildpacksio/lifecycle:launcher'"
    ].join('\n');
    expect(summarizeLifecycle(output)).toMatchObject({
      group: ['slipway/procfile 0.1.0'],
      reusedLayers: 3,
      addedLayers: 1,
      detectFailed: false
    });
  });

  it('recognises failed detection and the buildpacks tried', () => {
    const output = [
      '#8 0.371 ======== Results ========',
      '#8 0.371 fail: slipway/procfile@0.1.0',
      '#8 0.371 skip: other/bp@1',
      '#8 0.371 \x1b[31;1mERROR: \x1b[0mNo buildpack groups passed detection.',
      '0.371 fail: slipway/procfile@0.1.0'
    ].join('\n');
    expect(summarizeLifecycle(output)).toMatchObject({
      detectFailed: true,
      detectResults: ['fail: slipway/procfile@0.1.0', 'skip: other/bp@1'],
      errors: ['No buildpack groups passed detection.']
    });
  });

  it('names the phase of a failed creator from its exit code', () => {
    const failed = (code: number) =>
      `#10 ERROR: process "/cnb/lifecycle/creator -app=/workspace r.io/app:1" did not complete successfully: exit code: ${code}`;
    expect(lifecycleExit(failed(32))).toEqual({ code: 32, phase: 'analyze' });
    expect(lifecycleExit(failed(51))).toEqual({ code: 51, phase: 'build' });
    expect(lifecycleExit(failed(62))).toEqual({ code: 62, phase: 'export' });
    expect(lifecycleExit(failed(1))).toEqual({ code: 1, phase: 'lifecycle' });
    expect(lifecycleExit(`#9 0.1 ===> ANALYZING\n${failed(1)}`)).toEqual({
      code: 1,
      phase: 'analyze'
    });
    expect(lifecycleExit('error: failed to solve: other')).toBeUndefined();
  });
});

import { beforeAll, describe, expect, it } from '@jest/globals';
import { parse as parseYaml } from 'yaml';
import {
  generatedValues,
  jsonForHelm,
  valuesFileText
} from '../../../src/helm-deploy-namespace/values.js';
import { readConfig } from '../../../src/helm-deploy-namespace/config.js';
import { Inputs } from '../../../src/lib/inputs.js';
import { loadYaml11 } from '../../../src/lib/yaml11.js';

const env = { GITHUB_WORKSPACE: '/ws' };
const base = { release: 'app', namespace: 'pr-1', chart: './chart' };
const config = (values: Record<string, string>) =>
  readConfig(new Inputs(name => ({ ...base, ...values })[name] ?? ''), env);

// readConfig parses the `values` input with the YAML reader, which the action loads first.
beforeAll(() => loadYaml11());

describe('helm-deploy-namespace readConfig', () => {
  it('reads defaults', () => {
    const c = config({});
    expect(c).toMatchObject({
      action: 'deploy',
      release: 'app',
      namespace: 'pr-1',
      chart: '/ws/chart',
      atomic: true,
      wait: true,
      timeoutMs: 300_000,
      force: false,
      dryRun: false,
      createNamespace: true,
      setContextNamespace: false,
      recover: 'fail',
      deleteNamespace: 'auto',
      helmVersion: undefined,
      image: undefined
    });
    expect(c.imageValues).toEqual({
      repository: 'image.repository',
      tag: 'image.tag',
      digest: 'image.digest'
    });
    expect(c.values).toBeUndefined();
  });

  it('reads lock-timeout 0 in any spelling as "fail at once", and defaults it to 10m', () => {
    expect(config({}).lockTimeoutMs).toBe(600_000);
    for (const raw of ['0', '0s', '0m'])
      expect(config({ 'lock-timeout': raw }).lockTimeoutMs).toBe(0);
  });

  it('splits an image pinned by digest into the chart values', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    const c = config({
      image: `127.0.0.1:25000/team/app@${digest}`,
      'image-values': 'repository=app.image\ndigest=app.pin'
    });
    expect(c.image).toEqual({ repository: '127.0.0.1:25000/team/app', tag: undefined, digest });
    expect(generatedValues(c)).toEqual({ app: { image: '127.0.0.1:25000/team/app', pin: digest } });
  });

  it('pins the digest input onto a tagged image', () => {
    const c = config({ image: 'reg.example/app:7', digest: 'b'.repeat(64) });
    expect(generatedValues(c)).toEqual({
      image: { repository: 'reg.example/app', tag: '7', digest: `sha256:${'b'.repeat(64)}` }
    });
  });

  it("layers values, set and set-string in that order, with helm's --set grammar", () => {
    const c = config({
      values: 'replicaCount: 3\nmessage: from-values\nservice:\n  port: 80\nkeep: yes',
      set: 'message=a\\,b.c "d" \\\\e,replicaCount=2\nenv[0].name=X,args={x,y}\n\n# comment',
      'set-string': 'service.port=8080,flag=true'
    });
    expect(generatedValues(c)).toEqual({
      replicaCount: 2,
      message: 'a,b.c "d" \\e',
      service: { port: '8080' },
      env: [{ name: 'X' }],
      args: ['x', 'y'],
      flag: 'true',
      // YAML 1.1, as helm reads the same line in a values file.
      keep: true
    });
  });

  it('writes values as helm (YAML 1.1) reads them: yes/on/y/1_000 strings stay strings', async () => {
    const values = generatedValues(
      config({ 'set-string': 'a.x=yes,a.y=on,a.z=y,a.n=1_000,a.o=off', set: 'b=true,c=7' })
    ) as Record<string, unknown>;
    const text = await valuesFileText(values);
    // JSON: every string quoted, keys too (helm would read a bare y key as true).
    expect(text).toBe(
      '{"b": true, "c": 7, "a": {"x": "yes", "y": "on", "z": "y", "n": "1_000", "o": "off"}}'
    );
    expect(parseYaml(text, { version: '1.1' })).toEqual({
      a: { x: 'yes', y: 'on', z: 'y', n: '1_000', o: 'off' },
      b: true,
      c: 7
    });
  });

  it('writes integers beyond 2^53 as digits, and escapes what YAML does not allow raw', async () => {
    const big = 2n ** 63n - 1n;
    const odd = 'del\u007f c1\u0085 ls\u2028 ps\u2029 bom\ufeff tab\t nl\n emoji \u{1f600}';
    const text = await valuesFileText({ big, odd });
    expect(text).toContain('"big": 9223372036854775807');
    expect(text).not.toMatch(/[\u007f-\u009f\u2028\u2029\ufeff\n]/);
    expect(text).toContain(String.raw`del\u007f c1\u0085 ls\u2028 ps\u2029 bom\ufeff tab\t nl\n`);
    expect(parseYaml(text, { version: '1.1', intAsBigInt: true })).toEqual({ big, odd });
  });

  it('writes YAML 1.1 for what JSON cannot carry: infinities, timestamps, very long keys', async () => {
    const long = 'k'.repeat(1001);
    for (const values of [{ f: Number.POSITIVE_INFINITY }, { t: new Date(0) }, { [long]: 1 }]) {
      expect(jsonForHelm(values)).toBeUndefined();
      const text = await valuesFileText(values);
      expect(text.startsWith('{')).toBe(false);
      expect(parseYaml(text, { version: '1.1' })).toEqual(values);
    }
    expect(await valuesFileText({ f: Number.POSITIVE_INFINITY })).toBe('f: .inf\n');
  });

  it('escapes what helm refuses raw in the YAML fallback too, in values and keys', async () => {
    const odd = 'del\u007f nel\u0085 c1\u009f ls\u2028 ps\u2029 bom\ufeff tab\t back\\\u007f';
    const values = {
      f: Number.POSITIVE_INFINITY,
      odd,
      ['k\u0085ey']: 'v',
      long: 'x'.repeat(200) + odd
    };
    const text = await valuesFileText(values);
    expect(text.startsWith('{')).toBe(false);
    expect(text).not.toMatch(/[\u007f-\u009f\u2028\u2029\ufeff]/);
    expect(text).toContain(
      String.raw`odd: "del\u007f nel\u0085 c1\u009f ls\u2028 ps\u2029 bom\ufeff`
    );
    expect(parseYaml(text, { version: '1.1' })).toEqual(values);
  });

  it('splits comma lists into assignments, as helm --set does', () => {
    const c = config({ set: 'registryServer=r,registryUser=u,imageBuildNumber=7' });
    expect(c.values).toEqual({ registryServer: 'r', registryUser: 'u', imageBuildNumber: 7 });
    // Later assignments override earlier ones, like repeated --set flags.
    expect(config({ set: 'a=1\na=2' }).values).toEqual({ a: 2 });
  });

  it('writes image parts verbatim at the image-values keys', () => {
    const digest = `sha256:${'c'.repeat(64)}`;
    const c = config({
      image: `reg.example:5000/team/app.x_y-z:v1.2@${digest}`,
      'image-values': 'repository=app.images[0].repo\ntag=app.tag'
    });
    expect(generatedValues(c)).toEqual({
      app: { images: [{ repo: 'reg.example:5000/team/app.x_y-z' }], tag: 'v1.2' },
      image: { digest }
    });
  });

  it('keeps hostile strings intact through the values file', async () => {
    const hostile = 'a=b,c=--post-renderer=/bin/sh "q" \'s\' [x] {y} \\back\\slash #x: *alias';
    const escaped = hostile.replace(/[\\,{]/g, '\\$&');
    const values = generatedValues(config({ 'set-string': `message=${escaped}` }));
    const text = await valuesFileText(values ?? {});
    expect((parseYaml(text, { version: '1.1' }) as { message: string }).message).toBe(hostile);
  });

  it('reads the smoke check', () => {
    expect(config({}).check).toBeUndefined();
    expect(config({ 'check-path': '/healthz' }).check).toEqual({
      path: '/healthz',
      service: undefined,
      timeoutMs: 60_000,
      statuses: undefined
    });
    expect(
      config({
        'check-path': '/api/v1/ping?deep=true&x=a..b',
        'check-service': 'web',
        'check-timeout': '2m',
        'check-status': '200, 204'
      }).check
    ).toEqual({
      path: '/api/v1/ping?deep=true&x=a..b',
      service: 'web',
      timeoutMs: 120_000,
      statuses: [200, 204]
    });
  });

  it('reads labels and annotations', () => {
    const c = config({
      'namespace-labels': 'slipway.dev/pr=42\nteam=web',
      'namespace-annotations': 'slipway.dev/expires=2026-12-01T00:00:00Z'
    });
    expect(c.namespaceLabels).toEqual({ 'slipway.dev/pr': '42', team: 'web' });
    expect(c.namespaceAnnotations).toEqual({ 'slipway.dev/expires': '2026-12-01T00:00:00Z' });
  });

  it('accepts oci and repository charts', () => {
    expect(config({ chart: 'oci://127.0.0.1:25000/charts/app' }).chart).toBe(
      'oci://127.0.0.1:25000/charts/app'
    );
    expect(config({ chart: 'bitnami/nginx', 'repo-url': 'https://charts.example' }).chart).toBe(
      'bitnami/nginx'
    );
    expect(config({ chart: '/abs/chart' }).chart).toBe('/abs/chart');
  });

  it('needs no chart to delete', () => {
    expect(config({ action: 'delete', chart: '' }).chart).toBe('');
  });

  it.each([
    [{ release: 'App_1' }, 'release'],
    [{ release: 'a'.repeat(54) }, 'release'],
    [{ namespace: 'PR-1' }, 'namespace'],
    [{ namespace: 'pr-1\nkube-system' }, 'namespace'],
    [{ namespace: '' }, 'namespace'],
    [{ chart: '' }, 'chart'],
    [{ chart: '../../etc' }, 'chart'],
    [{ chart: '--post-renderer=/bin/sh' }, 'chart'],
    [{ chart: 'https://evil/chart.tgz' }, 'chart'],
    [{ chart: 'oci://reg/UPPER' }, 'chart'],
    [{ 'values-files': '../secrets.yaml' }, 'values-files'],
    [{ values: '- a\n- b' }, 'values'],
    [{ values: 'a: [' }, 'values'],
    [{ set: 'a=b,c=--post-renderer=/bin/sh\n--post-renderer=/bin/sh' }, 'set'],
    [{ set: 'noequals' }, 'set'],
    [{ set: 'a..b=1' }, 'set'],
    [{ set: 'a=1,b' }, 'set'],
    [{ set: 'a=1\na.b=2' }, 'set'],
    [{ set: 'a={x,y' }, 'set'],
    [{ 'set-string': 'a[-1]=x' }, 'set-string'],
    [{ set: 'image=x', image: 'reg/app' }, 'image-values'],
    [{ 'image-values': 'tag=a,b=c' }, 'image-values'],
    [{ 'image-values': 'tag=a={x}' }, 'image-values'],
    [{ 'set-string': 'x[y]=1' }, 'set-string'],
    [{ image: 'Not A Ref' }, 'image'],
    [{ digest: 'a'.repeat(64) }, 'digest'],
    [{ image: 'reg/app', digest: 'xyz' }, 'digest'],
    [{ 'image-values': 'registry=image.registry' }, 'image-values'],
    [{ 'image-values': 'repository=image..repo' }, 'image-values'],
    [{ 'helm-version': 'four' }, 'helm-version'],
    [{ 'helm-download-url': 'ftp://mirror/helm' }, 'helm-download-url'],
    [{ 'repo-url': 'file:///etc' }, 'repo-url'],
    [{ 'chart-version': '1.0;rm -rf' }, 'chart-version'],
    [{ 'namespace-labels': 'bad key=1' }, 'namespace-labels'],
    [{ 'namespace-labels': 'team=has space' }, 'namespace-labels'],
    [{ 'namespace-labels': `team=${'x'.repeat(64)}` }, 'namespace-labels'],
    [{ timeout: 'forever' }, 'timeout'],
    [{ timeout: '0s' }, 'timeout'],
    [{ timeout: '0' }, 'timeout'],
    [{ 'lock-timeout': '597h' }, 'lock-timeout'],
    [{ atomic: 'yes' }, 'atomic'],
    [{ 'dry-run': '1' }, 'dry-run'],
    [{ 'history-max': '-1' }, 'history-max'],
    [{ recover: 'force' }, 'recover'],
    [{ action: 'destroy' }, 'action'],
    [{ 'delete-namespace': 'always' }, 'delete-namespace'],
    [{ kubeconfig: '/k\n/evil' }, 'kubeconfig'],
    [{ set: 'a=' + 'x'.repeat(70_000) }, 'set'],
    [{ 'check-path': 'healthz' }, 'check-path'],
    [{ 'check-path': '/a b' }, 'check-path'],
    [{ 'check-path': '/a/../../secrets' }, 'check-path'],
    [{ 'check-path': '/..' }, 'check-path'],
    [{ 'check-path': '/./x' }, 'check-path'],
    [{ 'check-path': '/%2e%2e/x' }, 'check-path'],
    [{ 'check-path': '/a%2Fb' }, 'check-path'],
    [{ 'check-path': '/a\\b' }, 'check-path'],
    [{ 'check-path': '/x#frag' }, 'check-path'],
    [{ 'check-path': '/x', 'check-status': '2xx' }, 'check-status'],
    [{ 'check-path': '/x', 'check-status': '600' }, 'check-status'],
    [{ 'check-path': '/x', 'check-service': 'Web_1' }, 'check-service'],
    [{ 'check-path': '/x', 'check-timeout': 'soon' }, 'check-timeout'],
    [{ 'check-service': 'web' }, 'check-service'],
    [{ 'check-status': '200' }, 'check-status']
  ])('rejects %j naming %s', (values, input) => {
    expect(() => config(values as Record<string, string>)).toThrow(`Input "${input}"`);
  });
});

import { describe, expect, it } from '@jest/globals';
import { Inputs } from '../../../src/lib/inputs.js';
import type { V1Pod } from '@kubernetes/client-node';
import { readConfig } from '../../../src/setup-buildctl/config.js';
import { kubePodAddress } from '../../../src/setup-buildctl/kubernetes.js';
import {
  builderContainer,
  noReadyPodReason,
  pickReadyPod,
  selectorString
} from '../../../src/setup-buildctl/workload.js';

const inputs = (values: Record<string, string>) => new Inputs(name => values[name] ?? '');

describe('setup-buildctl readConfig', () => {
  it('reads defaults', () => {
    expect(readConfig(inputs({}), {})).toEqual({
      version: { kind: 'latest' },
      downloadUrl: undefined,
      checksum: undefined,
      token: undefined,
      apiUrl: 'https://api.github.com',
      address: { kind: 'local' },
      buildkitdFlags: [],
      buildkitdConfig: undefined,
      timeoutMs: 60_000,
      kubernetes: {
        namespace: undefined,
        image: undefined,
        kubeconfig: undefined,
        context: undefined
      }
    });
  });

  it('reads every input', () => {
    const config = readConfig(
      inputs({
        version: '^0.34',
        'download-url': 'https://m/{version}.tgz',
        checksum: `sha256:${'A'.repeat(64)}`,
        'github-token': 'tok',
        'github-api-url': 'https://ghes/api/v3',
        addr: 'local',
        'buildkitd-flags':
          '--debug --oci-worker-gc=false\n--allow-insecure-entitlement network.host',
        'buildkitd-config': '[worker.oci]\n  gc = false\n',
        timeout: '30s'
      }),
      { GITHUB_API_URL: 'https://ignored' }
    );
    expect(config).toMatchObject({
      version: { kind: 'range', range: '^0.34' },
      checksum: 'a'.repeat(64),
      token: 'tok',
      apiUrl: 'https://ghes/api/v3',
      buildkitdFlags: [
        '--debug',
        '--oci-worker-gc=false',
        '--allow-insecure-entitlement',
        'network.host'
      ],
      buildkitdConfig: '[worker.oci]\n  gc = false\n',
      timeoutMs: 30_000
    });
  });

  it('takes the API URL from the runner', () => {
    expect(readConfig(inputs({}), { GITHUB_API_URL: 'https://ghes/api/v3' }).apiUrl).toBe(
      'https://ghes/api/v3'
    );
  });

  it.each([
    [{ version: 'newest' }, /^Input "version" must be latest/],
    [
      { 'download-url': 'ftp://m/x.tgz' },
      /^Input "download-url" must be an http\(s\) URL template/
    ],
    [{ checksum: 'abc' }, /^Input "checksum" must be a sha256 digest/],
    [
      { addr: 'http://b:1' },
      /^Input "addr" must be local, kubernetes, kube-service:\/\/namespace\/service, kube-deployment:\/\/namespace\/deployment or a BuildKit address/
    ],
    [
      { addr: 'kube-service://ci' },
      /^Input "addr" must be kube-service:\/\/namespace\/service, kube-deployment:\/\/namespace\/deployment \(lower-case/
    ],
    [{ addr: 'kube-deployment://CI/buildkitd' }, /^Input "addr" must be kube-service/],
    [{ addr: 'kube-service://ci/buildkitd/x' }, /^Input "addr" must be kube-service/],
    [
      { addr: 'kube-service://ci/buildkitd', 'buildkitd-config': 'x' },
      /^Input "buildkitd-flags" and buildkitd-config apply only to addr: local/
    ],
    [{ timeout: 'soon' }, /^Input "timeout" must be a duration/],
    [
      { addr: 'tcp://b:1234', 'buildkitd-flags': '--debug' },
      /^Input "buildkitd-flags" and buildkitd-config apply only to addr: local/
    ]
  ])('rejects %j', (values, message) => {
    expect(() => readConfig(inputs(values), {})).toThrow(message);
  });
});

describe('setup-buildctl TLS inputs', () => {
  const cert = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----';
  const key = '-----BEGIN EC PRIVATE KEY-----\nMHcCAQ-very-secret\n-----END EC PRIVATE KEY-----';
  const tcp = { addr: 'tcp://127.0.0.1:1234' };

  it('reads a CA, a client pair and a server name for a tcp builder', () => {
    const config = readConfig(
      inputs({
        ...tcp,
        'tls-ca': cert,
        'tls-cert': cert,
        'tls-key': key,
        'tls-server-name': 'buildkitd.ci.svc'
      }),
      {}
    );
    expect(config.tls).toEqual({
      ca: `${cert}\n`,
      cert: `${cert}\n`,
      key: `${key}\n`,
      serverName: 'buildkitd.ci.svc'
    });
  });

  it.each([
    [{ addr: 'unix:///run/buildkit.sock', 'tls-ca': cert }, 'tls-ca', 'applies only to a tcp://'],
    [{ 'tls-server-name': 'x' }, 'tls-server-name', 'applies only to a tcp://'],
    [{ ...tcp, 'tls-cert': cert }, 'tls-key', 'go together'],
    [{ ...tcp, 'tls-key': key }, 'tls-cert', 'go together'],
    [{ ...tcp, 'tls-ca': '/etc/ssl/ca.pem' }, 'tls-ca', 'the content rather than a path'],
    [{ ...tcp, 'tls-ca': key }, 'tls-ca', 'PEM certificate'],
    [
      { ...tcp, 'tls-cert': cert, 'tls-key': 'not a key but a secret' },
      'tls-key',
      'PEM private key'
    ],
    [{ ...tcp, 'tls-server-name': 'bad name;rm' }, 'tls-server-name', 'host name']
  ])('rejects %j', (values, input, message) => {
    expect(() => readConfig(inputs(values), {})).toThrow(`Input "${input}"`);
    expect(() => readConfig(inputs(values), {})).toThrow(message);
  });

  it('never quotes a bad key back', () => {
    expect(() =>
      readConfig(inputs({ ...tcp, 'tls-cert': cert, 'tls-key': 'hunter2-secret' }), {})
    ).not.toThrow(/hunter2/);
  });
});

describe('setup-buildctl addr: kubernetes', () => {
  it('reads the builder pod inputs', () => {
    const config = readConfig(
      inputs({
        addr: 'kubernetes',
        'builder-namespace': 'ci',
        'builder-image': 'reg.example/buildkit:v1',
        'buildkitd-config': '[worker.oci]\n  gc = true'
      }),
      {}
    );
    expect(config.address).toEqual({ kind: 'kubernetes' });
    expect(config.kubernetes).toEqual({
      namespace: 'ci',
      image: 'reg.example/buildkit:v1',
      kubeconfig: undefined,
      context: undefined
    });
    expect(config.buildkitdConfig).toContain('gc = true');
  });
  it.each([
    ['kube-service://ci/buildkitd', 'Service'],
    ['kube-deployment://slipway-system/buildkitd', 'Deployment']
  ])('reads %s as an existing in-cluster builder', (addr, kind) => {
    const [namespace, name] = addr.split('://')[1]?.split('/') ?? [];
    const config = readConfig(inputs({ addr, kubeconfig: '/k', context: 'kind-x' }), {});
    expect(config.address).toEqual({
      kind: 'kube-workload',
      workload: { kind, namespace, name, addr }
    });
    expect(config.kubernetes).toMatchObject({ kubeconfig: '/k', context: 'kind-x' });
  });
  it('reads builder-registry-ca when buildkitd-config refers to it', () => {
    const ca = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----';
    const config = readConfig(
      inputs({
        addr: 'kubernetes',
        'buildkitd-config': '[registry."r:5000"]\n  ca = ["/etc/buildkit/registry-ca.pem"]',
        'builder-registry-ca': ca
      }),
      {}
    );
    expect(config.kubernetes.registryCa).toBe(`${ca}\n`);
    for (const values of <Array<Record<string, string>>>[
      { addr: 'kubernetes', 'builder-registry-ca': ca },
      {
        addr: 'local',
        'builder-registry-ca': ca,
        'buildkitd-config': '/etc/buildkit/registry-ca.pem'
      }
    ]) {
      expect(() => readConfig(inputs(values), {})).toThrow(
        /^Input "builder-registry-ca" applies to addr: kubernetes with a buildkitd-config that refers to it/
      );
    }
    expect(() =>
      readConfig(inputs({ addr: 'kubernetes', 'builder-registry-ca': '/path/ca.pem' }), {})
    ).toThrow(/^Input "builder-registry-ca" must be a PEM certificate/);
  });
  it.each([
    [{ addr: 'kube-service://ci/b', 'builder-image': 'x/y' }, 'builder-image'],
    [{ addr: 'local', 'builder-namespace': 'ci' }, 'builder-namespace'],
    [{ addr: 'tcp://h:1', 'builder-image': 'x/y' }, 'builder-image'],
    [{ addr: 'kubernetes', 'builder-namespace': 'CI' }, 'builder-namespace'],
    [{ addr: 'kubernetes', 'builder-image': 'Not An Image' }, 'builder-image']
  ])('rejects %j', (values, input) => {
    expect(() => readConfig(inputs(values), {})).toThrow(`Input "${input}"`);
  });
});

describe('builder pod manifest', () => {
  it('runs buildkitd privileged on a unix socket, with the config mounted and a readiness probe', async () => {
    const { builderPod, kubePodAddress, podWaitReason } =
      await import('../../../src/setup-buildctl/kubernetes.js');
    const pod = builderPod(
      'slipway-buildkitd-1',
      'moby/buildkit:v0.34.2',
      ['--debug'],
      'slipway-buildkitd-1'
    );
    const container = pod.spec?.containers[0];
    expect(container?.args).toEqual([
      '--addr',
      'unix:///run/buildkit/buildkitd.sock',
      '--config',
      '/etc/buildkit/buildkitd.toml',
      '--debug'
    ]);
    expect(container?.securityContext?.privileged).toBe(true);
    expect(container?.readinessProbe?.exec?.command).toEqual(['buildctl', 'debug', 'workers']);
    expect(pod.metadata?.labels?.['slipway.dev/builder']).toBe('slipway-buildkitd-1');
    expect(pod.spec?.volumes?.[0]?.configMap?.name).toBe('slipway-buildkitd-1');
    expect(builderPod('p', 'i', [], undefined).spec?.volumes).toEqual([]);
    expect(kubePodAddress('p', 'ci', undefined)).toBe('kube-pod://p?namespace=ci');
    expect(kubePodAddress('p', 'ci', 'kind-x')).toBe('kube-pod://p?namespace=ci&context=kind-x');
    expect(
      podWaitReason({
        status: {
          containerStatuses: [
            {
              name: 'b',
              image: 'i',
              imageID: '',
              ready: false,
              restartCount: 0,
              state: { waiting: { reason: 'ImagePullBackOff', message: 'no such image' } }
            }
          ]
        }
      })
    ).toBe('ImagePullBackOff: no such image');
    expect(podWaitReason(undefined)).toBe('the pod is gone');
  });
});

describe('existing in-cluster builder (kube-service://, kube-deployment://)', () => {
  const pod = (name: string, ready: boolean, created: string, extra: object = {}): V1Pod => ({
    metadata: { name, creationTimestamp: new Date(created), ...extra },
    spec: { containers: [{ name: 'buildkitd' }] },
    status: {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
      containerStatuses: ready
        ? []
        : [
            {
              name: 'buildkitd',
              image: 'i',
              imageID: '',
              ready: false,
              restartCount: 3,
              state: { waiting: { reason: 'CrashLoopBackOff' } }
            }
          ]
    }
  });

  it('turns a label selector into the API parameter', () => {
    expect(
      selectorString({
        matchLabels: { app: 'buildkitd', tier: 'ci' },
        matchExpressions: [
          { key: 'zone', operator: 'In', values: ['a', 'b'] },
          { key: 'old', operator: 'DoesNotExist' },
          { key: 'x', operator: 'Exists' },
          { key: 'y', operator: 'NotIn', values: ['z'] }
        ]
      })
    ).toBe('app=buildkitd,tier=ci,zone in (a,b),!old,x,y notin (z)');
    expect(selectorString({})).toBe('');
  });

  it('picks the oldest Ready pod that is not being deleted', () => {
    const pods = [
      pod('c', true, '2026-01-03'),
      pod('a', false, '2026-01-01'),
      pod('b', true, '2026-01-02', { deletionTimestamp: new Date('2026-01-04') }),
      pod('d', true, '2026-01-02T12:00:00Z')
    ];
    expect(pickReadyPod(pods)?.metadata?.name).toBe('d');
    expect(pickReadyPod([pod('a', false, '2026-01-01')])).toBeUndefined();
  });

  it('says why no pod is Ready', () => {
    expect(noReadyPodReason([], 'app=buildkitd')).toBe('no pod matches its selector app=buildkitd');
    expect(
      noReadyPodReason(
        [
          pod('a', false, '2026-01-01'),
          pod('b', true, '2026-01-02', { deletionTimestamp: new Date() })
        ],
        'app=buildkitd'
      )
    ).toBe('pod a: CrashLoopBackOff; pod b: terminating');
  });

  it('dials the buildkitd container when the pod has several', () => {
    expect(builderContainer(pod('a', true, '2026-01-01'))).toBeUndefined();
    expect(
      builderContainer({ spec: { containers: [{ name: 'sidecar' }, { name: 'buildkitd' }] } })
    ).toBe('buildkitd');
    expect(kubePodAddress('p', 'ci', undefined, 'buildkitd')).toBe(
      'kube-pod://p?namespace=ci&container=buildkitd'
    );
  });
});

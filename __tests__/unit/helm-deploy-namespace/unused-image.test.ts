import { describe, expect, it } from '@jest/globals';
import {
  imageLikeKeys,
  pushedReference,
  renderedImages,
  unusedImageMessage,
  usesImage
} from '../../../src/helm-deploy-namespace/unused-image.js';

const digest = `sha256:${'a'.repeat(64)}`;
const other = `sha256:${'b'.repeat(64)}`;
const pinned = { repository: 'reg:5000/team/app', tag: undefined, digest };
const tagged = { repository: 'reg:5000/team/app', tag: '7', digest: undefined };

const manifest = `---
# Source: c/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: web
---
# Source: c/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      initContainers:
        - name: init
          image: "busybox:1.36"
      containers:
        - name: app
          image: "127.0.0.1:25001/slipway/sample-app:1.0.0"
`;

describe('unused image detection', () => {
  it('names the pushed reference by digest, else by tag', () => {
    expect(pushedReference(pinned)).toBe(`reg:5000/team/app@${digest}`);
    expect(pushedReference(tagged)).toBe('reg:5000/team/app:7');
    expect(pushedReference({ ...tagged, tag: undefined })).toBe('reg:5000/team/app:latest');
  });

  it('finds every image in the manifest', async () => {
    expect(await renderedImages(manifest)).toEqual([
      'busybox:1.36',
      '127.0.0.1:25001/slipway/sample-app:1.0.0'
    ]);
    expect(await renderedImages('')).toEqual([]);
  });

  it.each([
    [[`reg:5000/team/app@${digest}`], pinned, true],
    [[`reg:5000/team/app:7@${digest}`], pinned, true],
    [[`reg:5000/team/app@${other}`], pinned, false],
    [[`reg:5000/team/other@${digest}`], pinned, false],
    [['reg:5000/team/app:7'], pinned, false],
    [['reg:5000/team/app:7'], tagged, true],
    [[`reg:5000/team/app:7@${digest}`], tagged, true],
    [['reg:5000/team/app:70'], tagged, false],
    [['reg:5000/team/app'], { ...tagged, tag: undefined }, true],
    [['busybox', '127.0.0.1:25001/slipway/sample-app:1.0.0'], tagged, false],
    [[], pinned, false]
  ])('%j uses %j: %s', (rendered, image, expected) => {
    expect(usesImage(rendered, image)).toBe(expected);
  });

  it("lists the chart's values that look like image parts as --set keys", () => {
    const values = {
      registry: '127.0.0.1:25001',
      user: 'slipway',
      build: '1.0.0',
      replicaCount: 1,
      message: 'hi',
      imagePullSecrets: [{ name: 'x' }],
      image: { repository: 'r', tag: 'latest', pullPolicy: 'IfNotPresent' },
      sidecars: [{ name: 'proxy', image: 'envoy' }],
      'example.com/tag': 'v',
      service: { port: 80 }
    };
    expect(imageLikeKeys(values)).toEqual([
      'registry',
      'user',
      'build',
      'image.repository',
      'image.tag',
      'sidecars[0].image',
      'example\\.com/tag'
    ]);
    expect(imageLikeKeys(values, 2)).toEqual(['registry', 'user']);
    expect(imageLikeKeys({ replicaCount: 1 })).toEqual([]);
  });

  it('names image-values, the pushed image, what was rendered and the candidates', () => {
    const message = unusedImageMessage(
      pinned,
      { repository: 'image.repository', tag: 'image.tag', digest: 'image.digest' },
      ['a:1', 'a:1'],
      ['registry', 'user', 'build']
    );
    expect(message).toContain(`does not use the pushed image reg:5000/team/app@${digest}`);
    expect(message).toContain('(it has a:1)');
    expect(message).toContain(
      'image-values writes to (repository=image.repository, tag=image.tag, digest=image.digest)'
    );
    expect(message).toContain('look like image parts: registry, user, build.');
    expect(
      unusedImageMessage(pinned, { repository: 'r', tag: 't', digest: 'd' }, [], undefined)
    ).toContain('no image at all): ');
  });
});

import { describe, expect, it } from '@jest/globals';
import {
  describeAnswer,
  isProxyForbidden,
  pickService,
  retryDelayMs,
  statusAccepted
} from '../../../src/helm-deploy-namespace/smoke-check.js';

const manifest = (...services: string[]) =>
  [
    '---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web',
    ...services.map(
      name =>
        `---\napiVersion: v1\nkind: Service\nmetadata:\n  name: ${name.split('/')[0]}${
          name.includes('/') ? `\n  namespace: ${name.split('/')[1]}` : ''
        }`
    )
  ].join('\n');

describe('smoke check', () => {
  it('retries after 100 ms, doubling up to 2 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 50].map(retryDelayMs)).toEqual([
      100, 200, 400, 800, 1600, 2000, 2000, 2000
    ]);
  });

  it('accepts any 2xx by default, else only the listed statuses', () => {
    expect([200, 204, 299].map(s => statusAccepted(s, undefined))).toEqual([true, true, true]);
    expect([199, 301, 404, 503].map(s => statusAccepted(s, undefined))).toEqual([
      false,
      false,
      false,
      false
    ]);
    expect(statusAccepted(204, [200, 204])).toBe(true);
    expect(statusAccepted(201, [200, 204])).toBe(false);
    expect(statusAccepted(404, [404])).toBe(true);
  });

  it('describes an answer on one line with at most 300 characters of body', () => {
    expect(describeAnswer({ status: 200, body: 'ok\n' })).toBe('200 ok');
    expect(describeAnswer({ status: 503, body: '' })).toBe('503');
    expect(describeAnswer({ status: 404, body: 'not\n  found\r\n' })).toBe('404 not found');
    const long = describeAnswer({ status: 500, body: 'x'.repeat(1000) });
    expect(long).toBe(`500 ${'x'.repeat(300)}…`);
  });

  it("tells the API server's RBAC refusal from an app's 403", () => {
    const rbac =
      '{"kind":"Status","apiVersion":"v1","status":"Failure","message":"services \\"web:80\\" is forbidden: User \\"ci\\" cannot get resource \\"services/proxy\\"","reason":"Forbidden","code":403}';
    expect(isProxyForbidden({ status: 403, body: rbac })).toBe(true);
    expect(isProxyForbidden({ status: 403, body: 'forbidden by the app' })).toBe(false);
    expect(isProxyForbidden({ status: 200, body: rbac })).toBe(false);
  });

  it("checks the release's only Service unless one is named", async () => {
    expect(await pickService(manifest('web'), 'pr-1', undefined)).toBe('web');
    expect(await pickService(manifest('web', 'other/elsewhere'), 'pr-1', undefined)).toBe('web');
    expect(await pickService(manifest('a', 'b'), 'pr-1', 'b')).toBe('b');
    await expect(pickService(manifest(), 'pr-1', undefined)).rejects.toThrow(
      'Input "check-service" is needed: the release has no Service in namespace pr-1'
    );
    await expect(pickService(manifest('a', 'b'), 'pr-1', undefined)).rejects.toThrow(
      'Input "check-service" is needed: the release has 2 Services (a, b)'
    );
  });
});

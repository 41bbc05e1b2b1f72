import { describe, expect, it } from '@jest/globals';
import { readConfig } from '../../../src/helm-deploy-namespace/config.js';
import {
  SWEEP_REQUIREMENT,
  expiryOf,
  expiryStamp,
  parseRfc3339
} from '../../../src/helm-deploy-namespace/expiry.js';
import { Inputs } from '../../../src/lib/inputs.js';

const env = { GITHUB_WORKSPACE: '/ws' };
const read = (values: Record<string, string>) =>
  readConfig(new Inputs(name => values[name] ?? ''), env);
const deploy = (values: Record<string, string>) =>
  read({ release: 'app', namespace: 'pr-1', chart: './chart', ...values });

const HOUR = 3_600_000;

describe('ttl', () => {
  it('is read as a duration for deploy, and absent by default', () => {
    expect(deploy({}).ttlMs).toBeUndefined();
    expect(deploy({ ttl: '72h' }).ttlMs).toBe(72 * HOUR);
    expect(deploy({ ttl: '1h30m' }).ttlMs).toBe(90 * 60_000);
    expect(deploy({ ttl: '87600h' }).ttlMs).toBe(87_600 * HOUR);
  });

  it.each(['0', '0s', '-1h', '72 hours', '3d', '87601h'])('refuses %j, naming ttl', ttl => {
    expect(() => deploy({ ttl })).toThrow(/^Input "ttl" must be a duration/);
  });

  it('is refused with delete and sweep', () => {
    expect(() => deploy({ action: 'delete', ttl: '1h' })).toThrow(
      'Input "ttl" is only used by action: deploy (action is delete).'
    );
    expect(() => read({ action: 'sweep', ttl: '1h' })).toThrow(
      /^Input "ttl" is not used by action: sweep/
    );
  });

  it('stamps now + ttl in RFC 3339 UTC, to the second', () => {
    expect(expiryStamp(Date.UTC(2026, 0, 31, 12, 0, 0, 999), 72 * HOUR)).toBe(
      '2026-02-03T12:00:00Z'
    );
    expect(parseRfc3339(expiryStamp(0, HOUR))).toBe(HOUR);
  });
});

describe('action: sweep', () => {
  it('needs no release, namespace or chart; the selector always requires managed-by=slipway', () => {
    const c = read({ action: 'sweep' });
    expect(c).toMatchObject({ action: 'sweep', release: '', namespace: '', chart: '' });
    expect(c.sweepSelector).toBe('app.kubernetes.io/managed-by=slipway');
    expect(SWEEP_REQUIREMENT).toBe('app.kubernetes.io/managed-by=slipway');
    expect(
      read({ action: 'sweep', 'sweep-selector': 'slipway.dev/preview=true, team in (a,b)' })
        .sweepSelector
    ).toBe('app.kubernetes.io/managed-by=slipway,slipway.dev/preview=true,team in (a,b)');
    expect(read({ action: 'sweep', 'dry-run': 'true' }).dryRun).toBe(true);
  });

  it.each([
    [{ release: 'app' }, 'release'],
    [{ namespace: 'pr-1' }, 'namespace'],
    [{ chart: './chart' }, 'chart']
  ])('refuses %j, naming %s', (values, input) => {
    expect(() => read({ action: 'sweep', ...values })).toThrow(
      `Input "${input}" is not used by action: sweep, which deletes every expired namespace Slipway created that matches sweep-selector; remove it.`
    );
  });

  it.each([
    'app.kubernetes.io/managed-by=helm',
    'app.kubernetes.io/managed-by!=slipway',
    '!app.kubernetes.io/managed-by',
    'a=b,app.kubernetes.io/managed-by in (slipway,helm)'
  ])('refuses a selector that names managed-by: %j', selector => {
    expect(() => read({ action: 'sweep', 'sweep-selector': selector })).toThrow(
      'Input "sweep-selector" must not name app.kubernetes.io/managed-by: a sweep always requires app.kubernetes.io/managed-by=slipway'
    );
  });

  it('refuses a malformed selector, and a selector without sweep', () => {
    expect(() => read({ action: 'sweep', 'sweep-selector': 'a in (x' })).toThrow(
      /^Input "sweep-selector" must be a Kubernetes label selector/
    );
    expect(() => deploy({ 'sweep-selector': 'a=b' })).toThrow(
      'Input "sweep-selector" is only used by action: sweep (action is deploy).'
    );
  });

  it('still requires release and namespace for deploy and delete', () => {
    expect(() => read({ namespace: 'pr-1', chart: './c' })).toThrow(
      'Input "release" is required and was not supplied.'
    );
    expect(() => read({ action: 'delete', release: 'app' })).toThrow(
      'Input "namespace" is required and was not supplied.'
    );
  });
});

describe('expiryOf', () => {
  const now = Date.UTC(2026, 5, 1, 12, 0, 0);
  const namespace = (labels: Record<string, string>, annotations: Record<string, string> = {}) => ({
    metadata: { name: 'pr-1', labels, annotations }
  });
  const ours = { 'app.kubernetes.io/managed-by': 'slipway' };
  const at = (value: string) => namespace(ours, { 'slipway.dev/expires-at': value });

  it('is due once the stamp has passed (inclusive), on a namespace Slipway created', () => {
    expect(expiryOf(at('2026-06-01T11:59:59Z'), now)).toEqual({
      state: 'expired',
      expiresAt: '2026-06-01T11:59:59Z'
    });
    expect(expiryOf(at('2026-06-01T12:00:00Z'), now).state).toBe('expired');
    expect(expiryOf(at('2026-06-01T12:00:01Z'), now)).toEqual({
      state: 'live',
      expiresAt: '2026-06-01T12:00:01Z'
    });
    // Another zone: 13:30+02:00 is 11:30Z.
    expect(expiryOf(at('2026-06-01T13:30:00+02:00'), now).state).toBe('expired');
    expect(expiryOf(at('2026-06-01T11:00:00.5Z'), now).state).toBe('expired');
  });

  it('never sweeps a namespace without managed-by=slipway, whatever it carries', () => {
    const stamp = { 'slipway.dev/expires-at': '2000-01-01T00:00:00Z' };
    expect(expiryOf(namespace({}, stamp), now)).toEqual({ state: 'foreign' });
    expect(expiryOf(namespace({ 'app.kubernetes.io/managed-by': 'Helm' }, stamp), now).state).toBe(
      'foreign'
    );
    expect(expiryOf({}, now).state).toBe('foreign');
  });

  it('keeps namespaces without a readable stamp, and ones already being deleted', () => {
    expect(expiryOf(namespace(ours), now)).toEqual({ state: 'no-expiry' });
    for (const value of [
      'tomorrow',
      '2026-06-01',
      '2026-06-01 00:00:00Z',
      '2026-13-01T00:00:00Z'
    ]) {
      expect(expiryOf(at(value), now)).toEqual({ state: 'unreadable', value });
    }
    const terminating = {
      metadata: { ...at('2000-01-01T00:00:00Z').metadata, deletionTimestamp: new Date(now) }
    };
    expect(expiryOf(terminating, now).state).toBe('terminating');
  });
});

import { describe, expect, it } from '@jest/globals';
import {
  hasSubordinateRange,
  rootlessProblems,
  type RootlessFacts
} from '../../../src/setup-buildctl/local.js';

const ready: RootlessFacts = {
  user: 'runner',
  uid: 1001,
  tools: { rootlesskit: true, newuidmap: true, newgidmap: true },
  subuid: 'other:100000:65536\nrunner:165536:65536\n',
  subgid: '1001:165536:65536\n',
  maxUserNamespaces: '96367',
  unprivilegedUsernsClone: undefined
};

describe('rootless prerequisites', () => {
  it('finds a subordinate range by user name or uid, and only a non-empty one', () => {
    expect(hasSubordinateRange(ready.subuid, 'runner', 1001)).toBe(true);
    expect(hasSubordinateRange(ready.subgid, 'runner', 1001)).toBe(true);
    expect(hasSubordinateRange('runner:100000:0\n', 'runner', 1001)).toBe(false);
    expect(hasSubordinateRange('runner2:100000:65536\n', 'runner', 1001)).toBe(false);
    expect(hasSubordinateRange(undefined, 'runner', 1001)).toBe(false);
  });

  it('has nothing to say when everything is there', () => {
    expect(rootlessProblems(ready)).toEqual([]);
  });

  it('names each missing piece with its fix', () => {
    expect(
      rootlessProblems({
        ...ready,
        tools: { rootlesskit: false, newuidmap: false, newgidmap: true },
        subgid: undefined,
        maxUserNamespaces: '0',
        unprivilegedUsernsClone: '0'
      })
    ).toEqual([
      'rootlesskit is not on PATH: install it (Debian/Ubuntu: apt-get install rootlesskit; or go install github.com/rootless-containers/rootlesskit/v2/cmd/rootlesskit@latest).',
      'newuidmap is not on PATH: install the uidmap package (Debian/Ubuntu: apt-get install uidmap).',
      '/etc/subgid has no range for runner (uid 1001): add one, e.g. usermod --add-subuids 100000-165535 --add-subgids 100000-165535 runner.',
      'user namespaces are disabled (user.max_user_namespaces = 0): enable them, e.g. sysctl -w user.max_user_namespaces=28633.',
      'unprivileged user namespaces are disabled (kernel.unprivileged_userns_clone = 0): enable them, e.g. sysctl -w kernel.unprivileged_userns_clone=1.'
    ]);
  });
});

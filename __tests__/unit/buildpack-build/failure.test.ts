import { describe, expect, it } from '@jest/globals';
import { describeFailure } from '../../../src/buildpack-build/failure.js';
import { readConfig } from '../../../src/buildpack-build/config.js';
import { ProgressTracker, classifyFailure } from '../../../src/lib/buildkit/index.js';
import { Inputs } from '../../../src/lib/inputs.js';

/**
 * buildctl's output, verbatim, for a git context on a buildkitd (v0.34.2) started with no git on
 * its PATH; its log said `git source cannot be enabled: failed to find git binary`.
 */
const NO_GIT_OUTPUT = `#1 [internal] load git source http://127.0.0.1:25080/sample-app.git
#1 ERROR: unknown scheme git: not found
------
 > [internal] load git source http://127.0.0.1:25080/sample-app.git:
------
error: failed to solve: failed to read dockerfile: failed to load cache key: unknown scheme git: not found
`;

function progressOf(output: string): ProgressTracker {
  const progress = new ProgressTracker();
  for (const line of output.split('\n')) progress.push(line);
  return progress;
}

describe('a git context on a builder without git', () => {
  it('is classified as no-git, not as a missing Dockerfile (which the error text wraps it in)', () => {
    expect(classifyFailure(NO_GIT_OUTPUT, true)).toBe('no-git');
  });

  it('says the builder needs git, naming the builder and the repository', () => {
    const config = readConfig(
      new Inputs(
        name =>
          ({
            context: 'http://127.0.0.1:25080/sample-app.git#main',
            image: '127.0.0.1:25001/slipway/app',
            addr: 'kube-pod://buildkitd-0?namespace=ci'
          })[name] ?? ''
      ),
      {}
    );
    const failure = describeFailure(config, NO_GIT_OUTPUT, progressOf(NO_GIT_OUTPUT));
    expect(failure.kind).toBe('no-git');
    expect(failure.message).toBe(
      'The builder at kube-pod://buildkitd-0?namespace=ci has no git, so it cannot fetch the git context http://127.0.0.1:25080/sample-app.git: failed to solve: failed to read dockerfile: failed to load cache key: unknown scheme git: not found'
    );
    expect(failure.hint).toContain('Install git where buildkitd runs');
    expect(failure.message).not.toContain('found no Dockerfile');
  });
});

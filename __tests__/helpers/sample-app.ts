import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { projectRoot } from './action-runner.js';

let binary: string | undefined;

/** The sample app's static binary, built once per test file (the real node runs what is built). */
function sampleAppBinary(): string {
  if (binary) return binary;
  const out = path.join(mkdtempSync(path.join(tmpdir(), 'sample-app-bin-')), 'sample-app');
  execFileSync('go', ['build', '-trimpath', '-ldflags=-s -w', '-o', out, '.'], {
    cwd: path.join(projectRoot, 'examples/sample-app'),
    env: { ...process.env, CGO_ENABLED: '0' },
    stdio: 'ignore'
  });
  binary = out;
  return out;
}

/**
 * Writes a build context for the sample app into `dir` (its Dockerfile and binary), optionally
 * with `salt` appended to the binary so that each context yields its own image digest.
 */
export function writeSampleAppContext(dir: string, salt?: string | Buffer): string {
  mkdirSync(dir, { recursive: true });
  copyFileSync(
    path.join(projectRoot, 'examples/sample-app/Dockerfile'),
    path.join(dir, 'Dockerfile')
  );
  copyFileSync(sampleAppBinary(), path.join(dir, 'sample-app'));
  if (salt !== undefined) writeFileSync(path.join(dir, 'sample-app'), salt, { flag: 'a' });
  return dir;
}

/**
 * The app's answer to GET `path` through the API server's service proxy (what a runner outside
 * the cluster can reach), retried for a few seconds while endpoints are being published.
 */
export async function answerOf(
  kubectl: (args: string[]) => string,
  namespace: string,
  service: string,
  urlPath = '/'
): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      return kubectl([
        'get',
        '--raw',
        `/api/v1/namespaces/${namespace}/services/${service}:80/proxy${urlPath}`
      ]);
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise(resolve => setTimeout(resolve, 500));
    }
  }
}

import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

/**
 * Facts about the local real-peer stack (scripts/stack), read from the env file `stack up`
 * writes. Integration tests fail loudly, never skip, when the stack is not up.
 */
export function stackDir(): string {
  return (
    process.env.SLIPWAY_STACK_DIR ??
    path.join(process.env.SLIPWAY_CACHE ?? path.join(homedir(), '.cache', 'slipway'), 'stack')
  );
}

export function stackEnv(): Record<string, string> {
  const file = path.join(stackDir(), 'stack.env');
  if (!existsSync(file)) {
    throw new Error(
      `The local stack is not up (${file} is missing). Start it with: npm run stack -- up`
    );
  }
  const env: Record<string, string> = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return env;
}

/** A fact the tests need; the error names the component that should have written it. */
export function stackFact(key: string): string {
  const value = stackEnv()[key];
  if (!value)
    throw new Error(
      `The local stack did not record ${key}; is every component up? Run: npm run stack -- status`
    );
  return value;
}

export function registryPassword(): string {
  return readFileSync(stackFact('REGISTRY_PASSWORD_FILE'), 'utf8').trim();
}

/** PATH with a helm binary's directory (default the stack's Helm 4) in front, so an action finds
 * it instead of installing one. */
export function pathWithHelm(helm: string = stackFact('HELM4')): string {
  return `${path.dirname(helm)}:${process.env.PATH ?? ''}`;
}

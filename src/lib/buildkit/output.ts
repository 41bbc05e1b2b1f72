import { SlipwayError } from '../errors.js';

/**
 * Reading back what buildctl reports: `debug workers`, the metadata file, plain progress, and what
 * a failure means. Pure, so that it is unit-tested without a builder.
 */

export interface Worker {
  id: string;
  platforms: string[];
}

/** Parses `buildctl debug workers` (a table: ID, PLATFORMS with comma-separated platforms). */
export function parseWorkers(output: string): Worker[] {
  return output
    .split('\n')
    .map(line => line.trim())
    .filter(line => line !== '' && !/^ID\s+PLATFORMS/.test(line))
    .map(line => {
      const [id = '', platforms = ''] = line.split(/\s+/);
      return { id, platforms: platforms.split(',').filter(Boolean) };
    });
}

/** Distinct platforms across workers, in order. */
export function workerPlatforms(workers: Worker[]): string[] {
  return [...new Set(workers.flatMap(worker => worker.platforms))];
}

// ---------------------------------------------------------------------------------------------
// Metadata, progress, failures
// ---------------------------------------------------------------------------------------------

export interface BuildMetadata {
  /** The manifest (or, for multi-platform builds, index) digest: what `name@digest` pulls. */
  digest: string | undefined;
  imageNames: string[];
  raw: Record<string, unknown>;
}

export function parseMetadata(text: string): BuildMetadata {
  let raw: unknown;
  try {
    raw = JSON.parse(text || '{}');
  } catch (error) {
    throw new SlipwayError('buildctl wrote a metadata file that is not JSON.', { cause: error });
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new SlipwayError('buildctl wrote a metadata file that is not a JSON object.');
  }
  const record = raw as Record<string, unknown>;
  const digest = record['containerimage.digest'];
  const names = record['image.name'];
  return {
    digest: typeof digest === 'string' && /^sha256:[0-9a-f]{64}$/.test(digest) ? digest : undefined,
    imageNames: typeof names === 'string' && names ? names.split(',') : [],
    raw: record
  };
}

export interface StepCounts {
  /** Build steps BuildKit answered from its cache. */
  cached: number;
  /** Build steps that ran. */
  executed: number;
}

interface Vertex {
  name: string;
  lines: string[];
  cached: boolean;
  done: boolean;
  error: boolean;
}

/** Internal vertices (loading definitions, transferring context, exporting) are not build steps. */
function isBuildStep(name: string): boolean {
  return !/^(\[internal\]|\[auth\]|exporting |importing cache|resolve image config|load |transferring|preparing |writing image|naming to|pushing |inferred cache|copying files)/.test(
    name
  );
}

const CACHE_VERTEX = /^importing cache|^exporting (?:cache|to .*cache)/i;

/** Follows `--progress=plain` output: `#N name`, `#N CACHED`, `#N DONE 0.1s`, `#N ERROR: …`. */
export class ProgressTracker {
  private readonly vertices = new Map<string, Vertex>();
  private readonly order: string[] = [];
  readonly trailer: string[] = [];

  push(line: string): void {
    const match = /^#(\d+) (.*)$/.exec(line);
    if (!match) {
      if (line.trim() !== '') this.trailer.push(line);
      return;
    }
    const [, id = '', text = ''] = match;
    let vertex = this.vertices.get(id);
    if (!vertex) {
      vertex = { name: text, lines: [], cached: false, done: false, error: false };
      this.vertices.set(id, vertex);
      this.order.push(id);
      return;
    }
    if (text === 'CACHED') vertex.cached = true;
    else if (/^DONE \d/.test(text)) vertex.done = true;
    else if (text.startsWith('ERROR')) vertex.error = true;
    vertex.lines.push(text);
  }

  /** Whether the builder answered at all (any vertex seen): an unreachable builder shows none. */
  get started(): boolean {
    return this.order.length > 0;
  }

  counts(): StepCounts {
    let cached = 0;
    let executed = 0;
    for (const vertex of this.vertices.values()) {
      if (!isBuildStep(vertex.name)) continue;
      if (vertex.cached) cached++;
      else if (vertex.done) executed++;
    }
    return { cached, executed };
  }

  /**
   * Cache imports and exports that failed (`importing cache manifest from …`, `exporting cache to
   * …`, `exporting to GitHub Actions Cache`): BuildKit builds on without an import, and without an
   * export that has ignore-error=true, so the build succeeds and only this says the cache is off.
   */
  cacheFailures(): Array<{ name: string; error: string }> {
    const failures: Array<{ name: string; error: string }> = [];
    for (const id of this.order) {
      const vertex = this.vertices.get(id);
      if (!vertex?.error || !CACHE_VERTEX.test(vertex.name)) continue;
      const error = vertex.lines.find(line => line.startsWith('ERROR')) ?? 'ERROR';
      failures.push({ name: vertex.name, error: error.replace(/^ERROR:?\s*/, '') });
    }
    return failures;
  }

  /** The first vertex that failed, with the tail of its own log lines. */
  failedStep(maxLines = 25): { name: string; log: string } | undefined {
    for (const id of this.order) {
      const vertex = this.vertices.get(id);
      if (vertex?.error) {
        return { name: vertex.name, log: vertex.lines.slice(-maxLines).join('\n') };
      }
    }
    return undefined;
  }
}

export type FailureKind =
  | 'unauthorized'
  | 'unreachable'
  | 'builder-lost'
  | 'transient'
  | 'no-dockerfile'
  | 'no-git'
  | 'frontend'
  | 'build';

const UNAUTHORIZED =
  /\b401\b|unauthorized|authentication required|no basic auth credentials|failed to authorize|denied: requested access/i;
const UNREACHABLE =
  /connection refused|failed to dial|no such file or directory.*\.sock|dial (?:tcp|unix)|error reading server preface|failed to list workers|name resolver error|no such host/i;
/** The builder's connection dropped after the build had started (buildkitd killed, pod gone). */
const BUILDER_LOST =
  /failed to receive status: rpc error: code = Unavailable|error reading from server: EOF|transport is closing|closing transport due to|error reading from server: command \[[^\]]*\] has exited/i;
const TRANSIENT =
  /connection reset by peer|broken pipe|unexpected EOF|i\/o timeout|TLS handshake timeout|\b50[0234]\b(?: \w+)*|Service Unavailable|Bad Gateway|Gateway Timeout|Internal Server Error|too many requests|\b429\b|rpc error: code = (?:Unavailable|Internal) desc = (?:transport|connection)/i;
const NO_DOCKERFILE =
  /failed to read dockerfile|dockerfile: no such file|open (?:\S*\/)?Dockerfile\S*: no such file|failed to find target/i;
/**
 * A git context on a builder without git: buildkitd registers its git source only when it finds a
 * git binary (it logs "git source cannot be enabled"), and the solve then fails with "unknown
 * scheme git" — wrapped in "failed to read dockerfile", which is not the problem.
 */
const NO_GIT = /unknown scheme git\b|git source cannot be enabled|failed to find git binary/i;
const FRONTEND_FAILED =
  /failed to (?:resolve|load) (?:source metadata|frontend)|frontend .* not (?:found|supported)|invalid frontend|unsupported frontend|source metadata for/i;

/**
 * What a failed buildctl run means. Registry auth first (a push 401 also shows as an ERROR on the
 * exporting step), then an unreachable builder (nothing built), a builder lost mid-build, then
 * transient network and 5xx errors, a builder without git (before "failed to read dockerfile",
 * which wraps it), then the frontend, and last an ordinary failed build — never retried.
 */
export function classifyFailure(output: string, progressStarted: boolean): FailureKind {
  const errorLines = output
    .split('\n')
    .filter(line => /error|fail|denied|refused|reset|status|unauthori[sz]ed/i.test(line))
    .join('\n');
  if (UNAUTHORIZED.test(errorLines)) return 'unauthorized';
  if (!progressStarted && UNREACHABLE.test(errorLines)) return 'unreachable';
  if (progressStarted && BUILDER_LOST.test(errorLines)) return 'builder-lost';
  if (TRANSIENT.test(errorLines) && !/did not complete successfully/.test(errorLines))
    return 'transient';
  if (NO_GIT.test(errorLines)) return 'no-git';
  if (NO_DOCKERFILE.test(errorLines)) return 'no-dockerfile';
  if (FRONTEND_FAILED.test(errorLines)) return 'frontend';
  return 'build';
}

/** `Dockerfile:12` lines point at the failing instruction; used for the error annotation. */
export function failingDockerfileLine(output: string): number | undefined {
  const match = /^\s*(?:\S*\/)?\S*Dockerfile\S*:(\d+)\s*$/m.exec(output);
  return match ? Number(match[1]) : undefined;
}

/** The `ERROR: …` summary buildctl prints last, without its timestamp noise. */
export function buildErrorMessage(output: string): string | undefined {
  const lines = output.split('\n').filter(line => /^(?:error|ERROR)[: ]/.test(line.trim()));
  const last = lines.at(-1)?.trim();
  return last ? last.replace(/^(?:error|ERROR):\s*/, '') : undefined;
}

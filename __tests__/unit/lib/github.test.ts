import { describe, expect, it } from '@jest/globals';
import { ReleasesUnavailableError, fetchReleases, type Release } from '../../../src/lib/github.js';
import { captureStdout } from '../../helpers/capture.js';
import { startHttpServer } from '../../helpers/http.js';

const releases: Release[] = [
  { tag_name: 'v0.35.0-rc1', assets: [] },
  { tag_name: 'v0.34.2', assets: [{ name: 'buildkit-v0.34.2.linux-amd64.tar.gz', digest: null }] },
  { tag_name: 'v0.33.1', assets: [] }
];

describe('fetchReleases (real HTTP server standing in for the GitHub API)', () => {
  it('sends the token and API version, drops drafts', async () => {
    const seen: Array<string | undefined> = [];
    const server = await startHttpServer((req, res) => {
      seen.push(req.headers.authorization, req.headers['x-github-api-version'] as string);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify([{ tag_name: 'v0.2.0', draft: true, assets: [] }, ...releases]));
    });
    try {
      const result = await fetchReleases(`${server.url}/`, 'tok', 'moby/buildkit');
      expect(result.map(r => r.tag_name)).toEqual(['v0.35.0-rc1', 'v0.34.2', 'v0.33.1']);
      expect(server.requests).toEqual(['GET /repos/moby/buildkit/releases?per_page=100']);
      expect(seen).toEqual(['Bearer tok', '2022-11-28']);
    } finally {
      await server.close();
    }
  });

  it('retries 5xx, then reports an unavailable API', async () => {
    const server = await startHttpServer((_, res) => {
      res.writeHead(502);
      res.end();
    });
    try {
      const { result } = await captureStdout(() =>
        fetchReleases(server.url, undefined, 'moby/buildkit').catch(error => error)
      );
      expect(result).toBeInstanceOf(ReleasesUnavailableError);
      expect(server.requests.length).toBe(3);
    } finally {
      await server.close();
    }
  }, 20_000);

  it('does not retry a rate limit (403) and lets the caller fall back', async () => {
    const server = await startHttpServer((_, res) => {
      res.writeHead(403);
      res.end('{"message":"API rate limit exceeded"}');
    });
    try {
      await expect(fetchReleases(server.url, undefined, 'moby/buildkit')).rejects.toThrow(
        `GitHub API answered 403 for ${server.url}/repos/moby/buildkit/releases?per_page=100`
      );
      expect(server.requests.length).toBe(1);
    } finally {
      await server.close();
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { extractMembers, headerNumber, paxPath } from '../../../src/lib/archive.js';

/** extractMembers against archives made by the real GNU tar, in each of its formats. */

let work: string;
const longDir = `deep/${'d'.repeat(60)}/${'e'.repeat(60)}`;
const payload = randomBytes(300_000);

beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'archive-'));
  const src = path.join(work, 'src');
  mkdirSync(path.join(src, 'bin'), { recursive: true });
  mkdirSync(path.join(src, longDir), { recursive: true });
  writeFileSync(path.join(src, 'bin', 'first'), '#!/bin/sh\necho first\n', { mode: 0o755 });
  writeFileSync(path.join(src, 'bin', 'second'), payload, { mode: 0o750 });
  writeFileSync(path.join(src, longDir, 'tool'), 'long\n', { mode: 0o700 });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A .tar.gz of the source tree's `members`, in this order and tar `format`. */
function archive(name: string, format: string, members: string[], base = '.'): string {
  const file = path.join(work, name);
  execFileSync('tar', [
    '-czf',
    file,
    `--format=${format}`,
    '-C',
    path.join(work, 'src', base),
    ...members
  ]);
  return file;
}

function destination(): string {
  return mkdtempSync(path.join(work, 'dest-'));
}

/** Every file under `dir`, relative. */
function files(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[])
    .filter(f => statSync(path.join(dir, f)).isFile())
    .sort();
}

describe('extractMembers', () => {
  it('writes only the members asked for, with their modes and contents', async () => {
    const file = archive('gnu.tar.gz', 'gnu', ['bin/first', 'bin/second', longDir]);
    const dest = destination();
    // A umask that would strip the group's bits: the archive's mode wins.
    const umask = process.umask(0o077);
    try {
      expect(await extractMembers(file, dest, ['bin/second'])).toEqual([]);
    } finally {
      process.umask(umask);
    }
    expect(files(dest)).toEqual(['bin/second']);
    expect(readFileSync(path.join(dest, 'bin/second')).equals(payload)).toBe(true);
    expect(statSync(path.join(dest, 'bin/second')).mode & 0o777).toBe(0o750);
  });

  it('returns the members the archive does not have', async () => {
    const file = archive('some.tar.gz', 'gnu', ['bin/first']);
    const dest = destination();
    expect(await extractMembers(file, dest, ['bin/first', 'bin/absent'])).toEqual(['bin/absent']);
    expect(files(dest)).toEqual(['bin/first']);
  });

  it.each(['gnu', 'pax', 'ustar'])(
    'follows a name longer than 100 characters (%s format)',
    async format => {
      const file = archive(`long-${format}.tar.gz`, format, ['bin/first', longDir]);
      const dest = destination();
      expect(await extractMembers(file, dest, [`${longDir}/tool`])).toEqual([]);
      expect(readFileSync(path.join(dest, longDir, 'tool'), 'utf8')).toBe('long\n');
      expect(statSync(path.join(dest, longDir, 'tool')).mode & 0o777).toBe(0o700);
    }
  );

  it('reads ./-prefixed names as the same members', async () => {
    const file = archive('dot.tar.gz', 'gnu', ['.']);
    const dest = destination();
    expect(await extractMembers(file, dest, ['bin/first'])).toEqual([]);
    expect(files(dest)).toEqual(['bin/first']);
  });

  it('stops reading after the last member asked for', async () => {
    // The archive is cut in the middle of its second member: what comes before is still readable
    // only if nothing after the first member is decompressed.
    const whole = readFileSync(archive('cut.tar.gz', 'gnu', ['bin/first', 'bin/second']));
    const cut = path.join(work, 'cut-short.tar.gz');
    writeFileSync(cut, whole.subarray(0, Math.floor(whole.length / 2)));
    const dest = destination();
    expect(await extractMembers(cut, dest, ['bin/first'])).toEqual([]);
    expect(readFileSync(path.join(dest, 'bin/first'), 'utf8')).toBe('#!/bin/sh\necho first\n');
    await expect(extractMembers(cut, destination(), ['bin/second'])).rejects.toThrow(
      /unexpected end of file|truncated/
    );
  });

  it('says when the file is not a tar archive', async () => {
    const file = path.join(work, 'text.tar.gz');
    writeFileSync(file, gzipSync(Buffer.alloc(2048, 'not a tar archive ')));
    await expect(extractMembers(file, destination(), ['bin/first'])).rejects.toThrow(
      'text.tar.gz is not a tar archive (bad header).'
    );
  });

  it('refuses members outside the destination before reading anything', async () => {
    const dest = destination();
    await expect(extractMembers('/nonexistent.tar.gz', dest, ['../x'])).rejects.toThrow(
      'Cannot extract ../x: members are relative paths inside.'
    );
    await expect(extractMembers('/nonexistent.tar.gz', dest, ['/etc/x'])).rejects.toThrow(
      'Cannot extract /etc/x: members are relative paths inside.'
    );
    expect(existsSync(path.join(work, 'x'))).toBe(false);
  });
});

describe('tar header fields', () => {
  it('reads octal and base-256 numbers', () => {
    expect(headerNumber(Buffer.from('00000001750\0'))).toBe(0o1750);
    expect(headerNumber(Buffer.from('        \0'))).toBe(0);
    const big = Buffer.alloc(12);
    big[0] = 0x80;
    big.writeUIntBE(9_000_000_000, 6, 6);
    expect(headerNumber(big)).toBe(9_000_000_000);
  });

  it('finds the path record of a pax header', () => {
    const record = (text: string) => {
      let length = text.length + 3;
      if (`${length} ${text}\n`.length !== length) length += 1;
      return `${length} ${text}\n`;
    };
    expect(paxPath(record('mtime=1.5') + record('path=a/b c') + record('size=3'))).toBe('a/b c');
    expect(paxPath(record('mtime=1.5'))).toBeUndefined();
    expect(paxPath('garbage')).toBeUndefined();
  });
});

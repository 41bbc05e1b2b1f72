import { afterAll, beforeEach, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { projectRoot } from '../helpers/action-runner.js';

/**
 * scripts/release.mjs as a maintainer runs it (a separate node process), on a repository laid out
 * in a real temp dir: package.json, package-lock.json, CHANGELOG.md, deliver.yml and README.md.
 */
const dirs: string[] = [];
afterAll(() => dirs.forEach(dir => rmSync(dir, { recursive: true, force: true })));

const CHANGELOG = `# Changelog

Intro text.

## [Unreleased]

### Added

- The gha cache scope.

## [0.1.0] - 2026-11-01

### Added

- The first four actions.
`;

const DELIVER = `# uses: slipway/slipway/.github/workflows/deliver.yml@v0
jobs:
  deliver:
    steps:
      - uses: actions/checkout@fbc6f3992d24b796d5a048ff273f7fcc4a7b6c09 # v5.1.0
      - uses: slipway/slipway/actions/setup-buildctl@v0
      - uses: slipway/slipway/actions/buildpack-build@v0
`;

let root = '';

function write(file: string, text: string): void {
  mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
  writeFileSync(path.join(root, file), text);
}

function read(file: string): string {
  return readFileSync(path.join(root, file), 'utf8');
}

function files(): Record<string, string> {
  const names = [
    'package.json',
    'package-lock.json',
    'CHANGELOG.md',
    '.github/workflows/deliver.yml',
    'README.md'
  ];
  return Object.fromEntries(names.map(name => [name, read(name)]));
}

function release(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(
    process.execPath,
    [path.join(projectRoot, 'scripts/release.mjs'), ...args, '--root', root],
    { encoding: 'utf8' }
  );
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

beforeEach(() => {
  root = mkdtempSync(path.join(tmpdir(), 'slipway-release-'));
  dirs.push(root);
  write('package.json', `${JSON.stringify({ name: 'slipway', version: '0.1.0' }, null, 2)}\n`);
  write(
    'package-lock.json',
    `${JSON.stringify(
      {
        name: 'slipway',
        version: '0.1.0',
        packages: { '': { name: 'slipway', version: '0.1.0' } }
      },
      null,
      2
    )}\n`
  );
  write('CHANGELOG.md', CHANGELOG);
  write('.github/workflows/deliver.yml', DELIVER);
  write('README.md', '- uses: slipway/slipway@v0\n- uses: actions/checkout@v5\n');
});

describe('release.mjs cut', () => {
  it('turns Unreleased into the version, bumps package.json and the lockfile', () => {
    const result = release('cut', '0.2.0', '--date', '2026-12-07');
    expect(result).toMatchObject({ status: 0, stderr: '' });
    expect(result.stdout).toContain('0.2.0: package.json and CHANGELOG.md updated.');
    expect(read('CHANGELOG.md')).toBe(`# Changelog

Intro text.

## [Unreleased]

## [0.2.0] - 2026-12-07

### Added

- The gha cache scope.

## [0.1.0] - 2026-11-01

### Added

- The first four actions.
`);
    expect(JSON.parse(read('package.json')).version).toBe('0.2.0');
    const lock = JSON.parse(read('package-lock.json'));
    expect([lock.version, lock.packages[''].version]).toEqual(['0.2.0', '0.2.0']);
    // Same major: the pins stay.
    expect(read('.github/workflows/deliver.yml')).toBe(DELIVER);
    // What was cut is what the tag may release.
    expect(release('check', 'v0.2.0')).toMatchObject({ status: 0, stderr: '' });
    expect(release('notes', 'v0.2.0').stdout).toBe('### Added\n\n- The gha cache scope.\n');
  });

  it('moves the slipway/slipway pins to a new major, and no other action', () => {
    expect(release('cut', '1.0.0', '--date', '2026-12-07').status).toBe(0);
    expect(read('.github/workflows/deliver.yml')).toBe(DELIVER.replace(/@v0\b/g, '@v1'));
    expect(read('README.md')).toBe('- uses: slipway/slipway@v1\n- uses: actions/checkout@v5\n');
    expect(release('check', 'v1.0.0')).toMatchObject({ status: 0 });
  });

  it.each([
    [
      'an empty Unreleased section',
      '0.2.0',
      () => write('CHANGELOG.md', '## [Unreleased]\n\n## [0.1.0]\n\n- x\n'),
      /nothing under "## \[Unreleased\]"/
    ],
    [
      'no Unreleased section',
      '0.2.0',
      () => write('CHANGELOG.md', '## [0.1.0]\n\n- x\n'),
      /nothing under/
    ],
    ['a version the changelog already has', '0.1.0', () => {}, /already has 0\.1\.0/],
    ['a version below package.json', '0.0.9', () => {}, /lower than package\.json's 0\.1\.0/],
    ['a leading v', 'v0.2.0', () => {}, /is not a version/],
    ['not semver', '0.2', () => {}, /is not a version/]
  ])('refuses %s and writes nothing', (_, version, prepare, message) => {
    prepare();
    const before = files();
    const result = release('cut', version);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(files()).toEqual(before);
  });
});

describe('release.mjs notes', () => {
  it('prints the section of the tag, without its heading', () => {
    expect(release('notes', 'v0.1.0')).toEqual({
      status: 0,
      stdout: '### Added\n\n- The first four actions.\n',
      stderr: ''
    });
  });

  it('fails for a version with no section, an empty one, or a bad tag', () => {
    expect(release('notes', 'v0.3.0')).toMatchObject({
      status: 1,
      stderr: 'release: CHANGELOG.md has no section for 0.3.0\n'
    });
    write('CHANGELOG.md', '## [0.3.0] - 2026-12-07\n\n## [0.1.0]\n\n- x\n');
    expect(release('notes', 'v0.3.0').stderr).toContain(
      "CHANGELOG.md's section for 0.3.0 is empty"
    );
    expect(release('notes', '0.1.0').stderr).toContain('"0.1.0" is not a version tag');
  });
});

describe('release.mjs check', () => {
  it('accepts a tag on which package.json, the changelog and deliver.yml agree', () => {
    expect(release('check', 'v0.1.0')).toEqual({
      status: 0,
      stdout: 'v0.1.0: package.json, CHANGELOG.md and deliver.yml agree\n',
      stderr: ''
    });
  });

  it('refuses a tag that package.json does not carry', () => {
    write('CHANGELOG.md', `${CHANGELOG}\n## [0.0.1]\n\n- x\n`);
    const result = release('check', 'v0.0.1');
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      "release: v0.0.1 cannot be released:\n  - package.json's version is 0.1.0, not 0.0.1\n"
    );
  });

  it('refuses a tag with no changelog section', () => {
    write('package.json', JSON.stringify({ version: '0.1.1' }));
    expect(release('check', 'v0.1.1').stderr).toContain('CHANGELOG.md has no section for 0.1.1');
  });

  it("refuses a tag whose major deliver.yml's pins do not name", () => {
    write('package.json', JSON.stringify({ version: '1.0.0' }));
    write('CHANGELOG.md', '## [1.0.0] - 2026-12-07\n\n- Stable.\n');
    const result = release('check', 'v1.0.0');
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      [
        'release: v1.0.0 cannot be released:',
        '  - .github/workflows/deliver.yml pins slipway/slipway/.github/workflows/deliver.yml@v0, not @v1',
        '  - .github/workflows/deliver.yml pins slipway/slipway/actions/setup-buildctl@v0, not @v1',
        '  - .github/workflows/deliver.yml pins slipway/slipway/actions/buildpack-build@v0, not @v1',
        ''
      ].join('\n')
    );
  });

  it('lists every disagreement at once', () => {
    const result = release('check', 'v2.0.0');
    expect(result.stderr.split('\n').filter(line => line.startsWith('  - '))).toHaveLength(5);
  });

  it('refuses a malformed tag and a bad command line', () => {
    expect(release('check', 'v1.0').stderr).toContain('"v1.0" is not a version tag');
    expect(release('publish', 'v1.0.0').stderr).toMatch(/^release: usage: release\.mjs cut/);
  });
});

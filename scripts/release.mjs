// Slipway's releases: what a version tag must agree with, and the one command that prepares it.
//
//   node scripts/release.mjs cut <version> [--date YYYY-MM-DD]
//       package.json (and package-lock.json) get <version>; CHANGELOG.md's Unreleased section
//       becomes the section `## [<version>] - <date>` under a new, empty Unreleased; the
//       `slipway/slipway…@v<major>` pins in deliver.yml and README.md follow a new major.
//   node scripts/release.mjs notes <tag>    prints CHANGELOG.md's section for <tag> (the notes)
//   node scripts/release.mjs check <tag>    fails unless package.json's version, CHANGELOG.md's
//                                           section and deliver.yml's pins all agree with <tag>
//
// Every command takes --root <dir> (default: this repository). Exit status 1 with a message on
// stderr for anything refused; nothing is written unless every check of `cut` passed.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import semver from 'semver';

class ReleaseError extends Error {}

const UNRELEASED = /^## \[?Unreleased\]?[ \t]*$/im;
const SECTION = /^## /m;
/** Slipway's own references that a release moves: `slipway/slipway@v0`, `…/deliver.yml@v0`. */
const SELF_PIN = /(slipway\/slipway(?:\/[\w./-]*)?)@(v\d+)\b/g;
const PINNED_FILES = ['.github/workflows/deliver.yml', 'README.md'];

function read(root, file) {
  const full = path.join(root, file);
  if (!existsSync(full)) throw new ReleaseError(`${file} not found in ${root}`);
  return readFileSync(full, 'utf8');
}

/** `v1.2.3` → `1.2.3`; anything else is refused. */
function versionOfTag(tag) {
  const version = /^v(.+)$/.exec(tag ?? '')?.[1];
  if (!version || semver.valid(version) !== version) {
    throw new ReleaseError(`"${tag}" is not a version tag (v<major>.<minor>.<patch>, e.g. v0.2.0)`);
  }
  return version;
}

/** The heading line of the section for `version`, e.g. `## [0.2.0] - 2026-12-07`. */
function sectionHeading(version) {
  const escaped = version.replace(/[.+]/g, '\\$&');
  return new RegExp(`^## \\[?${escaped}\\]?(?:[ \\t]+-[ \\t]+.*)?[ \\t]*$`, 'm');
}

/** The body of the `## …` section whose heading matches `heading`, or undefined. */
function sectionBody(changelog, heading) {
  const match = heading.exec(changelog);
  if (!match) return undefined;
  const rest = changelog.slice(match.index + match[0].length);
  const next = SECTION.exec(rest);
  return (next ? rest.slice(0, next.index) : rest).trim();
}

/** Every released version in the changelog (`## [x.y.z]` headings). */
function releasedVersions(changelog) {
  return [...changelog.matchAll(/^## \[?(\d+\.\d+\.\d+[^\]\s]*)\]?/gm)].map(match => match[1]);
}

export function notes(root, tag) {
  const version = versionOfTag(tag);
  const body = sectionBody(read(root, 'CHANGELOG.md'), sectionHeading(version));
  if (body === undefined) throw new ReleaseError(`CHANGELOG.md has no section for ${version}`);
  if (body === '') throw new ReleaseError(`CHANGELOG.md's section for ${version} is empty`);
  return body;
}

/** The problems that keep `tag` from being released; empty when it may be. */
export function problems(root, tag) {
  const version = versionOfTag(tag);
  const found = [];
  const packageVersion = JSON.parse(read(root, 'package.json')).version;
  if (packageVersion !== version) {
    found.push(`package.json's version is ${packageVersion}, not ${version}`);
  }
  try {
    notes(root, tag);
  } catch (error) {
    if (!(error instanceof ReleaseError)) throw error;
    found.push(error.message);
  }
  const major = `v${semver.major(version)}`;
  const deliver = read(root, PINNED_FILES[0]);
  const pins = [...deliver.matchAll(SELF_PIN)];
  if (pins.length === 0) found.push(`${PINNED_FILES[0]} names no slipway/slipway…@v<major>`);
  for (const [pin] of pins.filter(([, , ref]) => ref !== major)) {
    found.push(`${PINNED_FILES[0]} pins ${pin}, not @${major}`);
  }
  return found;
}

export function check(root, tag) {
  const found = problems(root, tag);
  if (found.length > 0) {
    throw new ReleaseError(`${tag} cannot be released:\n${found.map(p => `  - ${p}`).join('\n')}`);
  }
}

export function cut(root, version, date = new Date().toISOString().slice(0, 10)) {
  if (semver.valid(version) !== version) {
    throw new ReleaseError(`"${version}" is not a version (<major>.<minor>.<patch>, no leading v)`);
  }
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) throw new ReleaseError(`--date must be YYYY-MM-DD`);
  const packageJson = JSON.parse(read(root, 'package.json'));
  if (semver.lt(version, packageJson.version)) {
    throw new ReleaseError(`${version} is lower than package.json's ${packageJson.version}`);
  }
  const changelog = read(root, 'CHANGELOG.md');
  const newer = releasedVersions(changelog).filter(released => !semver.lt(released, version));
  if (newer.length > 0) {
    throw new ReleaseError(`CHANGELOG.md already has ${newer.join(', ')}: ${version} is not newer`);
  }
  const unreleased = UNRELEASED.exec(changelog);
  const body = unreleased && sectionBody(changelog, UNRELEASED);
  if (!unreleased || !body) {
    throw new ReleaseError(
      'CHANGELOG.md has nothing under "## [Unreleased]" to release: describe the changes there first'
    );
  }
  const afterHeading = unreleased.index + unreleased[0].length;
  const next = SECTION.exec(changelog.slice(afterHeading));
  const end = next ? afterHeading + next.index : changelog.length;
  const released =
    changelog.slice(0, afterHeading) +
    `\n\n## [${version}] - ${date}\n\n${body}\n` +
    (next ? `\n${changelog.slice(end)}` : '');

  // Everything checked: write.
  writeFileSync(path.join(root, 'CHANGELOG.md'), released);
  writeFileSync(
    path.join(root, 'package.json'),
    JSON.stringify({ ...packageJson, version }, null, 2) + '\n'
  );
  if (existsSync(path.join(root, 'package-lock.json'))) {
    const lock = JSON.parse(read(root, 'package-lock.json'));
    lock.version = version;
    if (lock.packages?.['']) lock.packages[''].version = version;
    writeFileSync(path.join(root, 'package-lock.json'), JSON.stringify(lock, null, 2) + '\n');
  }
  const major = `v${semver.major(version)}`;
  const moved = [];
  for (const file of PINNED_FILES.filter(file => existsSync(path.join(root, file)))) {
    const text = read(root, file);
    const pinned = text.replace(SELF_PIN, (_, name) => `${name}@${major}`);
    if (pinned !== text) {
      writeFileSync(path.join(root, file), pinned);
      moved.push(file);
    }
  }
  return { version, major, moved };
}

function main(argv) {
  const args = [...argv];
  const option = name => {
    const at = args.indexOf(name);
    if (at === -1) return undefined;
    const [, value] = args.splice(at, 2);
    if (value === undefined) throw new ReleaseError(`${name} needs a value`);
    return value;
  };
  const root = path.resolve(
    option('--root') ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..')
  );
  const date = option('--date');
  const [command, value, ...extra] = args;
  if (!command || !value || extra.length > 0 || !['cut', 'notes', 'check'].includes(command)) {
    throw new ReleaseError(
      'usage: release.mjs cut <version> [--date YYYY-MM-DD] | notes <tag> | check <tag> [--root <dir>]'
    );
  }
  if (command === 'notes') {
    process.stdout.write(`${notes(root, value)}\n`);
  } else if (command === 'check') {
    check(root, value);
    console.log(`${value}: package.json, CHANGELOG.md and deliver.yml agree`);
  } else {
    const result = cut(root, value, date);
    const moved =
      result.moved.length > 0
        ? `; pins moved to @${result.major} in ${result.moved.join(', ')}`
        : '';
    console.log(`${result.version}: package.json and CHANGELOG.md updated${moved}.`);
    console.log(
      `Next: commit, then tag v${result.version} and push the tag (release.yml does the rest).`
    );
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main(process.argv.slice(2));
  } catch (error) {
    if (!(error instanceof ReleaseError)) throw error;
    console.error(`release: ${error.message}`);
    process.exit(1);
  }
}

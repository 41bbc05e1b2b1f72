// Keeps the README's per-action input/output tables identical to the action.yml files.
//   node scripts/docs.mjs          rewrite the tables between the markers
//   node scripts/docs.mjs --check  exit 1 if the README is out of date
// Markers: <!-- action-docs:NAME --> … <!-- /action-docs:NAME -->, NAME = folder under actions/ or "root".
import { existsSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export async function actionFiles() {
  const names = (await readdir(path.join(root, 'actions'), { withFileTypes: true }).catch(() => []))
    .filter(entry => entry.isDirectory())
    .map(entry => entry.name)
    .sort();
  const files = names.map(name => ({ name, file: path.join(root, 'actions', name, 'action.yml') }));
  return [{ name: 'root', file: path.join(root, 'action.yml') }, ...files].filter(({ file }) =>
    existsSync(file)
  );
}

const cell = text =>
  String(text ?? '')
    .trim()
    .replace(/\s*\n\s*/g, ' ')
    .replace(/\|/g, '\\|');

export function renderTables(metadata) {
  const lines = [];
  const inputs = Object.entries(metadata.inputs ?? {});
  if (inputs.length > 0) {
    lines.push('| Input | Required | Default | Description |', '| --- | --- | --- | --- |');
    for (const [name, input] of inputs) {
      const fallback =
        input.default === undefined || input.default === '' ? '' : `\`${cell(input.default)}\``;
      lines.push(
        `| \`${name}\` | ${input.required ? 'yes' : 'no'} | ${fallback} | ${cell(input.description)} |`
      );
    }
  }
  const outputs = Object.entries(metadata.outputs ?? {});
  if (outputs.length > 0) {
    if (lines.length > 0) lines.push('');
    lines.push('| Output | Description |', '| --- | --- |');
    for (const [name, output] of outputs)
      lines.push(`| \`${name}\` | ${cell(output.description)} |`);
  }
  return lines.join('\n');
}

async function main() {
  const readmePath = path.join(root, 'README.md');
  const readme = await readFile(readmePath, 'utf8');
  let updated = readme;
  const problems = [];
  for (const { name, file } of await actionFiles()) {
    const metadata = YAML.parse(await readFile(file, 'utf8'));
    const pattern = new RegExp(
      `(<!-- action-docs:${name} -->\\n)[\\s\\S]*?(<!-- /action-docs:${name} -->)`
    );
    if (!pattern.test(updated)) {
      problems.push(
        `README.md has no <!-- action-docs:${name} --> section for ${path.relative(root, file)}`
      );
      continue;
    }
    updated = updated.replace(
      pattern,
      (_, open, close) => `${open}${renderTables(metadata)}\n${close}`
    );
  }
  if (process.argv.includes('--check')) {
    if (updated !== readme)
      problems.push('README.md tables are out of date: run node scripts/docs.mjs');
    if (problems.length > 0) {
      console.error(problems.join('\n'));
      process.exit(1);
    }
    console.log('README.md tables match every action.yml');
    return;
  }
  if (problems.length > 0) console.error(problems.join('\n'));
  await writeFile(readmePath, updated);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();

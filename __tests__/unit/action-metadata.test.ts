import { describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { projectRoot } from '../helpers/action-runner.js';

/**
 * Every action.yml is a contract: node24, a bundle that exists, and no undocumented or dead
 * inputs/outputs — each appears in the README section of its action and is read/set by its code.
 */
interface ActionMetadata {
  name: string;
  description: string;
  inputs?: Record<string, { description?: string; required?: boolean; default?: string }>;
  outputs?: Record<string, { description?: string }>;
  runs: { using: string; main: string; post?: string; 'post-if'?: string };
}

function actionFiles(): Array<{ name: string; file: string }> {
  const actions = readdirSync(path.join(projectRoot, 'actions'))
    .filter(name => existsSync(path.join(projectRoot, 'actions', name, 'action.yml')))
    .map(name => ({ name, file: path.join(projectRoot, 'actions', name, 'action.yml') }));
  const rootAction = path.join(projectRoot, 'action.yml');
  return existsSync(rootAction) ? [{ name: 'root', file: rootAction }, ...actions] : actions;
}

function sourceText(dir: string): string {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map(file => path.join(dir, file))
    .filter(file => file.endsWith('.ts') && statSync(file).isFile())
    .map(file => readFileSync(file, 'utf8'))
    .join('\n');
}

function readmeSection(name: string): string {
  const readme = readFileSync(path.join(projectRoot, 'README.md'), 'utf8');
  const match = new RegExp(
    `<!-- action-docs:${name} -->([\\s\\S]*?)<!-- /action-docs:${name} -->`
  ).exec(readme);
  return match?.[1] ?? '';
}

const actions = actionFiles();

it('finds every action folder, each with an action.yml and a source folder', () => {
  const folders = readdirSync(path.join(projectRoot, 'actions'));
  expect(folders.length).toBeGreaterThan(0);
  expect(actions.filter(a => a.name !== 'root').map(a => a.name)).toEqual(folders);
  for (const folder of folders)
    expect(existsSync(path.join(projectRoot, 'src', folder, 'index.ts'))).toBe(true);
});

describe.each(actions)('$name action.yml', ({ name, file }) => {
  const metadata = YAML.parse(readFileSync(file, 'utf8')) as ActionMetadata;
  const bundle = path.resolve(path.dirname(file), metadata.runs.main);
  const bundleName = path.basename(path.dirname(bundle));
  const source = sourceText(path.join(projectRoot, 'src', bundleName));
  const section = readmeSection(name);

  it('runs a committed node24 bundle for main and post', () => {
    expect(metadata.runs.using).toBe('node24');
    expect(path.relative(projectRoot, bundle)).toBe(path.join('dist', bundleName, 'index.js'));
    expect(existsSync(bundle)).toBe(true);
    if (metadata.runs.post) {
      expect(path.resolve(path.dirname(file), metadata.runs.post)).toBe(bundle);
      expect(metadata.runs['post-if']).toBe('always()');
    }
  });

  it('has a name and description', () => {
    expect(metadata.name).toMatch(/\S/);
    expect(metadata.description).toMatch(/\S/);
  });

  it('documents and reads every input', () => {
    for (const [input, spec] of Object.entries(metadata.inputs ?? {})) {
      expect({ input, described: (spec.description ?? '').trim().length > 10 }).toEqual({
        input,
        described: true
      });
      expect({ input, inReadme: section.includes(`| \`${input}\` |`) }).toEqual({
        input,
        inReadme: true
      });
      expect({ input, readByCode: new RegExp(`['"\`]${input}['"\`]`).test(source) }).toEqual({
        input,
        readByCode: true
      });
    }
  });

  it('documents and sets every output', () => {
    for (const [output, spec] of Object.entries(metadata.outputs ?? {})) {
      expect({ output, described: (spec.description ?? '').trim().length > 10 }).toEqual({
        output,
        described: true
      });
      expect({ output, inReadme: section.includes(`| \`${output}\` |`) }).toEqual({
        output,
        inReadme: true
      });
      expect({ output, setByCode: new RegExp(`['"\`]${output}['"\`]`).test(source) }).toEqual({
        output,
        setByCode: true
      });
    }
  });
});

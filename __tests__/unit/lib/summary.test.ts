import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { clearSecretsForTesting, registerSecret } from '../../../src/lib/secrets.js';
import { SummaryBuilder, code, escapeCell, formatDuration } from '../../../src/lib/summary.js';
import { captureStdout } from '../../helpers/capture.js';

afterEach(() => {
  clearSecretsForTesting();
  delete process.env.GITHUB_STEP_SUMMARY;
});

describe('SummaryBuilder', () => {
  it('renders headings, facts, tables and details', () => {
    const md = new SummaryBuilder()
      .heading('Build')
      .paragraph('Built <app>')
      .facts([
        ['Image', 'reg/app:1'],
        ['Skipped', undefined],
        ['Count', 3]
      ])
      .table(['Step', 'Result'], [['a|b', 'ok']])
      .details('Logs', 'line 1\nline 2')
      .render();
    expect(md).toBe(
      [
        '### Build',
        'Built &lt;app&gt;',
        '|  |  |\n| --- | --- |\n| **Image** | `reg/app:1` |\n| **Count** | `3` |',
        '| Step | Result |\n| --- | --- |\n| a\\|b | ok |',
        '<details><summary>Logs</summary>\n\n```text\nline 1\nline 2\n```\n\n</details>'
      ].join('\n\n') + '\n'
    );
  });

  it('redacts registered secrets', async () => {
    await captureStdout(() => registerSecret('canary-9f3e'));
    expect(new SummaryBuilder().paragraph('password canary-9f3e').render()).toBe('password ***\n');
  });

  it('uses a different fence when the body has backticks', () => {
    expect(new SummaryBuilder().details('x', 'a ``` b').render()).toContain('~~~~text');
  });

  it('writes to the job summary file when there is one', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'summary-'));
    try {
      expect(await new SummaryBuilder().paragraph('none').write()).toBe(false);
      const file = path.join(dir, 'summary.md');
      writeFileSync(file, '');
      process.env.GITHUB_STEP_SUMMARY = file;
      expect(await new SummaryBuilder().heading('Deploy', 2).write()).toBe(true);
      expect(readFileSync(file, 'utf8')).toContain('## Deploy');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('escapes cells and code', () => {
    expect(escapeCell('a|b\nc')).toBe('a\\|b c');
    expect(code('a`b')).toBe('``a`b``');
  });

  it('formats durations', () => {
    expect(formatDuration(250)).toBe('250 ms');
    expect(formatDuration(12_340)).toBe('12.3 s');
    expect(formatDuration(125_000)).toBe('2 min 5 s');
  });
});

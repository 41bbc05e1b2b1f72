import * as core from '@actions/core';
import { redact } from './secrets.js';

/**
 * A small Markdown builder for job summaries. Rendering is pure (so it is unit-tested) and every
 * cell passes through `redact`, because the summary file is not covered by the runner's masker.
 */
export class SummaryBuilder {
  private readonly parts: string[] = [];

  heading(text: string, level: 2 | 3 | 4 = 3): this {
    this.parts.push(`${'#'.repeat(level)} ${escapeInline(text)}`);
    return this;
  }

  paragraph(text: string): this {
    this.parts.push(escapeInline(text));
    return this;
  }

  /** A two-column table of facts; rows whose value is empty are left out. */
  facts(rows: Array<[string, string | number | undefined]>): this {
    const kept = rows.filter(
      (row): row is [string, string | number] => row[1] !== undefined && row[1] !== ''
    );
    if (kept.length > 0)
      this.table(
        ['', ''],
        kept.map(([key, value]) => [`**${escapeCell(key)}**`, code(String(value))]),
        { raw: true }
      );
    return this;
  }

  table(
    header: string[],
    rows: Array<Array<string | number>>,
    options: { raw?: boolean } = {}
  ): this {
    const cell = (value: string | number): string =>
      options.raw ? String(value) : escapeCell(String(value));
    const lines = [
      `| ${header.map(h => escapeCell(h)).join(' | ')} |`,
      `| ${header.map(() => '---').join(' | ')} |`
    ];
    for (const row of rows) lines.push(`| ${row.map(cell).join(' | ')} |`);
    this.parts.push(lines.join('\n'));
    return this;
  }

  /** A collapsed block of log text (diagnostics), fenced so Markdown in it is inert. */
  details(title: string, body: string): this {
    const fence = body.includes('```') ? '~~~~' : '```';
    this.parts.push(
      `<details><summary>${escapeHtml(title)}</summary>\n\n${fence}text\n${body.trimEnd()}\n${fence}\n\n</details>`
    );
    return this;
  }

  render(): string {
    return redact(`${this.parts.join('\n\n')}\n`);
  }

  /** Appends to the job summary when the runner provides one (act and local runs may not). */
  async write(): Promise<boolean> {
    if (!process.env.GITHUB_STEP_SUMMARY) return false;
    await core.summary.addRaw(this.render()).write();
    return true;
  }
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function escapeInline(text: string): string {
  return escapeHtml(text).replace(/\r?\n/g, ' ');
}

/** Pipes end a table cell and newlines end a row. */
export function escapeCell(text: string): string {
  return escapeInline(text).replace(/\|/g, '\\|');
}

/** Inline code that survives backticks inside the value. */
export function code(text: string): string {
  const escaped = escapeCell(text);
  const fence = escaped.includes('`') ? '``' : '`';
  return `${fence}${escaped}${fence}`;
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
}

/**
 * YAML 1.1, as helm reads a values file, with the `yaml` package. It is 121 KiB of a bundle and
 * ≈ 10 ms of start-up, and most deploys never need it (their values file is written as JSON,
 * values.ts), so it is imported only for a `values` input: `loadYaml11` runs before the inputs
 * are read, then `yaml11Parser` parses synchronously like the rest of the input checks.
 */
let yaml: typeof import('yaml') | undefined;

export async function loadYaml11(): Promise<void> {
  yaml ??= await import('yaml');
}

function loaded(): typeof import('yaml') {
  if (!yaml) throw new Error('The YAML 1.1 reader was used before loadYaml11() loaded it.');
  return yaml;
}

/**
 * The parser (`enabled: yes` is true and `1_000` an integer here, as in helm). Asking for it
 * before `loadYaml11` is a bug, thrown as such here rather than from the parse, where it could be
 * mistaken for a bad input.
 */
export function yaml11Parser(): (text: string) => unknown {
  const { parse } = loaded();
  return text => parse(text, { version: '1.1' });
}

/**
 * Characters helm refuses raw in a values file (DEL and the C1 controls: "control characters are
 * not allowed"), or reads as a line break or drops (NEL, U+2028, U+2029, the BOM). JSON.stringify
 * and `yaml` both write them raw, `yaml` even inside double quotes.
 */
const RAW_REFUSED = /[\u007f-\u009f\u2028\u2029\ufeff]/;

/**
 * `text` (a JSON string or a YAML double-quoted scalar, whose `\uXXXX` escapes are the same) with
 * every RAW_REFUSED character written as its escape.
 */
export function escapeRawRefused(text: string): string {
  return text.replace(
    new RegExp(RAW_REFUSED.source, 'g'),
    char => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`
  );
}

/**
 * Values as YAML 1.1: a string such as `on`, `yes`, `y` or `1_000` is written quoted (YAML 1.2
 * would leave it bare, and helm would read a `set-string` annotation `on` as `true`). A string
 * (value or key) holding a character of RAW_REFUSED is written double-quoted, unfolded, with that
 * character as a `\uXXXX` escape; only such scalars hold one, so the escapes land nowhere else.
 */
export async function stringifyYaml11(values: unknown): Promise<string> {
  await loadYaml11();
  const { Document, visit } = loaded();
  const document = new Document(values, { version: '1.1' });
  let refused = false;
  visit(document, {
    Scalar(_key, node) {
      if (typeof node.value === 'string' && RAW_REFUSED.test(node.value)) {
        node.type = 'QUOTE_DOUBLE';
        refused = true;
      }
    }
  });
  return refused ? escapeRawRefused(document.toString({ lineWidth: 0 })) : document.toString();
}

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { valuesFileText } from '../../src/helm-deploy-namespace/values.js';
import { mergeSetValues } from '../../src/lib/strvals.js';
import { stackFact } from '../helpers/stack.js';

/**
 * src/lib/strvals.ts against the real helm 3 and helm 4: the same `--set`/`--set-string`
 * arguments are given to `helm template` (a chart that prints `toJson .Values`) and to
 * mergeSetValues, and the values (or the refusal) must agree. Cases: a fixed list of tricky lines
 * plus a few hundred generated ones (seeded; SLIPWAY_STRVALS_SEED picks another seed). Cases the
 * port accepts run in batches (one render for many cases, each under its own top-level key), the
 * others one render each.
 */
const run = promisify(execFile);
const SEED = Number(process.env.SLIPWAY_STRVALS_SEED ?? 20240516);
const GENERATED = 400;
const BATCH = 25;

interface Case {
  set: string[];
  setString: string[];
}

type Outcome = { ok: true; values: string } | { ok: false; message: string };

/** Refusals that are deliberate differences from helm (see src/lib/strvals.ts). */
function isDeliberate(message: string, major: number): boolean {
  if (/has an empty name|starts with "-"/.test(message)) return true;
  // helm 4 ignores an unterminated "[" at the end of a line (an io.EOF wrapped with %w is taken
  // for the end of input); helm 3 refuses it, as Slipway does.
  return major === 4 && /without "\]"/.test(message);
}

let dir: string;
let chart: string;
let helmHome: Record<string, string>;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'slipway-strvals-'));
  chart = path.join(dir, 'values-echo');
  mkdirSync(path.join(chart, 'templates'), { recursive: true });
  writeFileSync(
    path.join(chart, 'Chart.yaml'),
    'apiVersion: v2\nname: values-echo\nversion: 0.1.0\n'
  );
  writeFileSync(
    path.join(chart, 'templates', 'values.yaml'),
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: values\ndata:\n  json: {{ toJson .Values | b64enc | quote }}\n'
  );
  helmHome = {
    PATH: process.env.PATH ?? '',
    HOME: dir,
    HELM_CACHE_HOME: path.join(dir, 'cache'),
    HELM_CONFIG_HOME: path.join(dir, 'config'),
    HELM_DATA_HOME: path.join(dir, 'data')
  };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** JSON with sorted keys and integers as digits, for comparing helm's int64 with number/bigint. */
function canonical(value: unknown): string {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error(`unexpected non-integer ${value}`);
    return value.toString();
  }
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.keys(value)
      .sort()
      .map(key => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}

/** `helm template` of the echo chart with `args` added: the values it rendered, canonical. */
async function renderedValues(helm: string, args: string[]): Promise<string> {
  const { stdout } = await run(
    helm,
    ['template', 'r', chart, '--show-only', 'templates/values.yaml', ...args],
    { env: helmHome, maxBuffer: 64 << 20 }
  );
  const manifest = parseYaml(stdout) as { data: { json: string } };
  const json = Buffer.from(manifest.data.json, 'base64').toString('utf8');
  // YAML 1.2 reads JSON; intAsBigInt keeps helm's int64 exact.
  return canonical(parseYaml(json, { intAsBigInt: true }));
}

async function helmOutcome(helm: string, c: Case): Promise<Outcome> {
  const args = [
    ...c.set.map(line => `--set=${line}`),
    ...c.setString.map(line => `--set-string=${line}`)
  ];
  try {
    return { ok: true, values: await renderedValues(helm, args) };
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr;
    if (stderr === undefined || !/Error: failed parsing --set/.test(stderr)) throw error;
    return { ok: false, message: stderr.trim() };
  }
}

/**
 * The port's values as Slipway writes them to its values file (values.ts), rendered by helm with
 * `-f`: helm must read the file as it read the same `--set` flags, up to one difference of its
 * own, which `asValuesFileReads` applies: a values file's integers are float64 to helm, its
 * `--set` integers int64. (The YAML Slipway wrote before is refused by helm for some of these
 * cases: it left DEL and C1 control characters raw.)
 */
async function valuesFileOutcome(helm: string, c: Case, name: string): Promise<string> {
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(file, await valuesFileText(mergeSetValues(undefined, c.set, c.setString)));
  return renderedValues(helm, ['-f', file]);
}

/** A canonical rendering with every integer as helm reads it from a values file (float64). */
function asValuesFileReads(rendered: string): string {
  const round = (value: unknown): unknown => {
    if (typeof value === 'bigint') return BigInt(Number(value));
    if (Array.isArray(value)) return value.map(round);
    if (typeof value === 'object' && value !== null)
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, round(v)]));
    return value;
  };
  return canonical(round(parseYaml(rendered, { intAsBigInt: true })));
}

function portOutcome(c: Case): Outcome {
  try {
    return { ok: true, values: canonical(mergeSetValues(undefined, c.set, c.setString)) };
  } catch (error) {
    return { ok: false, message: (error as Error).message };
  }
}

// ---------------------------------------------------------------------------------------------
// Cases.

const FIXED: Case[] = [
  'name1=null,f=false,t=true,z=0,l=00009,i=1234567890',
  'a=TRUE,b=False,c=NULL,d=fal\u017fe,e=+7,f=-05,g=-0,h=1e3,i=0x10',
  'big=9223372036854775807,over=9223372036854775808,safe=9007199254740993,neg=-9223372036854775808',
  'name1=one\\,two,name2=three\\=four,name3=a=b,name4=x\\',
  'a\\.b=1,c\\[0\\]=2,d\\\\=3,e\\{=4',
  'a={},b={x\\,y,\\}},c={1,true,null,x},d={x}y=1',
  'list[0]=foo,list[3]=bar,n[1][1]=1,m[0].a=b,m[2].c=d',
  'a[+1]=x,b[01]=y,c[65536],d[0].e=',
  'a[0].b=,c=1',
  'a.b=1,a=2,c[0]=x,c[0].d=y',
  'registryServer=r,registryUser=u,imageBuildNumber=7',
  'name1=value1,,,,name2=value2',
  'a=1,a.b=2',
  'a=x,a[0]=y',
  'a=null,a.b=1',
  'a[0]=x,a[0][0]=y',
  'a[ 1]=x',
  'a[0]x=1',
  'a[65537]=x',
  'a[-1]=x',
  'a={x,y',
  ']={}].',
  'x=1,a[1',
  'a[0][1',
  '=v',
  '.a=v',
  'a[0].=v',
  '--set a=b'
]
  .map(line => ({ set: [line], setString: [] as string[] }))
  .concat([
    { set: ['a=1', 'a=2,b=3'], setString: ['b=4,c=true'] },
    { set: ['a=1'], setString: ['a.b=2'] },
    { set: ['l={1,2,3}', 'l[1]=x'], setString: ['l[3]=9'] },
    { set: [], setString: ['a={1,true},b=null,c.d[0]=7'] }
  ]);

/** mulberry32: small, seeded, good enough to pick cases. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const NAMES = [
  'a',
  'b',
  'image',
  'tag',
  'x-y',
  's_1',
  'h\u00e9',
  '0',
  'true',
  'sp ace',
  'toString',
  'a\\.b',
  'c\\,d',
  'e\\=f',
  'g\\[0\\]',
  'h\\\\',
  'k\\{'
];
const INDEXES = ['0', '0', '1', '2', '3', '+1', '01'];
const BAD_INDEXES = ['-1', '65537', 'x', '', ' 1'];
const VALUES = [
  'v',
  '',
  '0',
  '7',
  '-5',
  '+3',
  '007',
  '1e3',
  'true',
  'TRUE',
  'False',
  'null',
  'Null',
  'fal\u017fe',
  '9007199254740993',
  '9223372036854775808',
  'a b',
  'x\\,y',
  'x=y',
  'a.b',
  'a[0]',
  '\\{x',
  '{x,y}',
  '{1,true,null}',
  '{}',
  '{a\\,b,c}',
  'p,q=r',
  'tail\\\\',
  '\u00e9\u2603',
  // Characters YAML does not allow raw in a values file (see values.ts).
  'nel\u0085 ls\u2028 bom\ufeff del\u007f',
  '<&>',
  '"q"',
  "'s'",
  '#h',
  'end\\'
];
const BAD_VALUES = ['{x', 'x,y', 'a,'];

function generate(count: number, seed: number): Case[] {
  const next = random(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const index = (): string => (next() < 0.02 ? pick(BAD_INDEXES) : pick(INDEXES));
  const path = (prefix: string): string => {
    let text = prefix;
    const depth = Math.floor(next() * 4);
    for (let i = 0; i < depth; i++) {
      const r = next();
      if (r < 0.6) text += `.${pick(NAMES)}`;
      else if (r < 0.9) text += `[${index()}]`;
      else text += `[${index()}][${index()}]`;
    }
    return text;
  };
  const value = (): string => {
    if (next() < 0.015) return pick(BAD_VALUES);
    const first = pick(VALUES);
    // A list value followed by more text is refused (tested, but not too often).
    return next() < 0.2 && (!first.startsWith('{') || next() < 0.1) ? first + pick(VALUES) : first;
  };
  return Array.from({ length: count }, (_, n) => {
    // Each case under its own top-level key; its assignments mostly reuse a few keys (later ones
    // override earlier ones) and sometimes take a new path under the first (nesting or conflict).
    const keys = Array.from({ length: 1 + Math.floor(next() * 4) }, (_, k) => path(`c${n}.k${k}`));
    const key = (): string => (next() < 0.85 ? pick(keys) : path(`c${n}.k0`));
    const line = (): string => {
      const assignments = Array.from({ length: 1 + Math.floor(next() * 3) }, () =>
        next() < 0.01 ? key() : `${key()}=${value()}`
      );
      return assignments.join(',') + (next() < 0.1 ? ',' : '');
    };
    return {
      set: Array.from({ length: 1 + Math.floor(next() * 3) }, line),
      setString: Array.from({ length: Math.floor(next() * 3) }, line)
    };
  });
}

function combine(cases: readonly Case[]): Case {
  return {
    set: cases.flatMap(c => c.set),
    setString: cases.flatMap(c => c.setString)
  };
}

/** Runs `task` over `items`, `limit` at a time (the machine is shared). */
async function pool<T, R>(items: readonly T[], limit: number, task: (item: T) => Promise<R>) {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return results;
}

interface Report {
  compared: number;
  accepted: number;
  refused: number;
  deliberate: string[];
  mismatches: string[];
  /** Batches whose values file helm also rendered. */
  valuesFiles: number;
}

async function compare(helm: string, major: number, cases: readonly Case[]): Promise<Report> {
  const report: Report = {
    compared: 0,
    accepted: 0,
    refused: 0,
    deliberate: [],
    mismatches: [],
    valuesFiles: 0
  };
  const single = async (c: Case): Promise<void> => {
    const [theirs, ours] = [await helmOutcome(helm, c), portOutcome(c)];
    report.compared++;
    if (theirs.ok && ours.ok && theirs.values === ours.values) report.accepted++;
    else if (!theirs.ok && !ours.ok) report.refused++;
    else if (theirs.ok && !ours.ok && isDeliberate(ours.message, major))
      report.deliberate.push(JSON.stringify(c));
    else
      report.mismatches.push(
        `${JSON.stringify(c)}\n  helm ${major}: ${theirs.ok ? theirs.values : theirs.message}\n  port: ${ours.ok ? ours.values : ours.message}`
      );
  };
  // Cases the port accepts go in batches (each case has its own top-level key); the others, and
  // every case of a batch where helm and the port differ, run alone.
  const accepted = cases.filter(c => portOutcome(c).ok);
  const retry: Case[] = cases.filter(c => !portOutcome(c).ok);
  const batches: Case[][] = [];
  for (let i = 0; i < accepted.length; i += BATCH) batches.push(accepted.slice(i, i + BATCH));
  await pool(batches, 2, async batch => {
    const all = combine(batch);
    const [theirs, ours] = [await helmOutcome(helm, all), portOutcome(all)];
    if (theirs.ok && ours.ok && theirs.values === ours.values) {
      report.compared += batch.length;
      report.accepted += batch.length;
      const written = await valuesFileOutcome(
        helm,
        all,
        `batch-${major}-${batches.indexOf(batch)}`
      );
      report.valuesFiles++;
      if (written !== asValuesFileReads(theirs.values))
        report.mismatches.push(
          `values file of ${JSON.stringify(all)}\n  helm --set: ${theirs.values}\n  helm -f: ${written}`
        );
    } else {
      retry.push(...batch);
    }
  });
  await pool(retry, 2, single);
  return report;
}

const cases = [...FIXED, ...generate(GENERATED, SEED)];

describe.each([
  ['HELM3', 3],
  ['HELM4', 4]
])('strvals port against %s', (fact, major) => {
  it(`agrees with helm ${major} on ${cases.length} cases (seed ${SEED})`, async () => {
    const report = await compare(stackFact(fact), major, cases);
    process.stdout.write(
      `helm ${major}: ${report.compared} cases, ${report.accepted} same values, ${report.refused} refused by both, ` +
        `${report.deliberate.length} refused only by the port (deliberate)\n`
    );
    expect(report.mismatches).toEqual([]);
    expect(report.compared).toBe(cases.length);
    // The generator must exercise both sides.
    expect(report.accepted).toBeGreaterThan(cases.length / 3);
    expect(report.refused).toBeGreaterThan(20);
    expect(report.valuesFiles).toBeGreaterThan(3);
  }, 600_000);

  it(`reads every character of the YAML values file written for what JSON cannot carry (helm ${major})`, async () => {
    // A timestamp sends the values file to YAML 1.1 (values.ts); helm refuses raw DEL and C1
    // characters there ("control characters are not allowed"), so they must come out escaped.
    const odd = 'del\u007f nel\u0085 c1\u009f ls\u2028 ps\u2029 bom\ufeff tab\t back\\\u007f';
    const values = { t: new Date(0), odd, ['k\u0085ey']: 'v' };
    const file = path.join(dir, `fallback-${major}.yaml`);
    writeFileSync(file, await valuesFileText(values));
    expect(await renderedValues(stackFact(fact), ['-f', file])).toBe(
      canonical({ t: '1970-01-01', odd, ['k\u0085ey']: 'v' })
    );
  }, 60_000);
});

// Patches applied to node_modules before bundling (scripts/build.mjs runs this first; it is
// idempotent). Each patch names the file, the exact text it replaces and why; a dependency update
// that changes that text fails the build here instead of silently bundling the unpatched code.
//
// @actions/http-client imports undici (~900 KB of source) at the top of its module only to build a
// ProxyAgent in getAgentDispatcher(), the dispatcher for fetch() through a proxy. Every action
// imports @actions/core, which imports http-client for OIDC tokens, so every bundle evaluated all
// of undici before its first log line: about a third of each action's start-up. Nothing Slipway
// runs calls getAgentDispatcher (HttpClient's own requests go through node:http and tunnel, which
// honour the proxy settings), so the bundle leaves undici out and the method says why if called.
//
// @kubernetes/client-node's kubeconfig module (dist/config.js, the only part Slipway loads: its
// KubeConfig reads kubeconfigs and applies credentials, auth plugins and proxies to node:https
// options) imports the generated API package (every API class and ~1,000 models, ~17 MB as
// emitted) only for makeApiClient(), and undici only for the fetch dispatcher of those generated
// clients. Slipway sends its requests itself (src/lib/kube/rest.ts), so both imports are left out:
// the kubeconfig chunk shrinks from 19 MB to 2 MB emitted and loads in ~70 ms instead of ~170 ms.
// makeApiClient() and the fetch dispatcher throw with this reason if ever called.
//
// The same module and its OIDC authenticator import, at the top, what only a rare kubeconfig
// needs: socks-proxy-agent, socks and hpagent (a cluster with `proxy-url`) and openid-client (a
// user with the `oidc` auth provider). Together they were ~35 ms of the ~50 ms the kubeconfig
// chunk took to load in every step that talks to a cluster. They are imported when first needed
// instead: the proxy agents by applyToHTTPSOptions() when the cluster has a proxy-url (before the
// synchronous createAgent() builds one), openid-client by the authenticator's two async entry
// points. __tests__/unit/lib/kube-proxy-url.test.ts goes through an HTTP and a SOCKS proxy.
//
// @actions/core imports, at the top of every action, its OIDC client (and through it
// @actions/http-client, tunnel, node:http, node:https and node:tls) only for getIDToken(), which
// Slipway never calls, and node:crypto only for the random delimiter of an output, state or
// environment value. Both are loaded when first used instead (crypto through
// process.getBuiltinModule, synchronous): a step whose own work needs neither starts its tool
// without loading them.
//
// That delimiter (`name<<ghadelimiter_<uuid>` … value … delimiter) was written for every value, so
// the `isPost` state every action saves first loaded node:crypto (~4 ms) before any log line. A
// value without CR or LF, under a plain name, is written as the runner's one-line form `name=value`
// instead: the runner and act split such a line at its first `=` and take the rest of the line,
// unchanged, as the value; with no line break in it, the value cannot start another command.
// Values with a line break keep the random delimiter.
//
// node:assert (~3 ms to load in Node 24, before every action's first log line) was loaded only
// for tunnel (http-client's proxy tunnels), which requires it and never uses it, and for
// @actions/io's mkdirP, whose one `ok(path, message)` becomes the same check without it.
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const patches = [
  {
    file: 'node_modules/@actions/core/lib/core.js',
    from: "import { OidcClient } from './oidc-utils.js';",
    to: '/* slipway: the OIDC client is imported by getIDToken(), see scripts/patch-deps.mjs */'
  },
  {
    file: 'node_modules/@actions/core/lib/core.js',
    from: '        return yield OidcClient.getIDToken(aud);',
    to:
      "        const { OidcClient } = yield import('./oidc-utils.js'); /* slipway */\n" +
      '        return yield OidcClient.getIDToken(aud);'
  },
  {
    file: 'node_modules/@actions/core/lib/file-command.js',
    from: "import * as crypto from 'crypto';",
    to:
      '/* slipway: node:crypto loaded when a delimiter is needed, see scripts/patch-deps.mjs */ ' +
      "const crypto = { randomUUID: () => process.getBuiltinModule('crypto').randomUUID() };"
  },
  {
    file: 'node_modules/@actions/core/lib/file-command.js',
    from: 'export function prepareKeyValueMessage(key, value) {\n',
    to:
      'export function prepareKeyValueMessage(key, value) {\n' +
      '    const line = singleLineMessage(key, value); /* slipway: see scripts/patch-deps.mjs */\n' +
      '    if (line !== undefined) return line;\n'
  },
  {
    file: 'node_modules/@actions/core/lib/file-command.js',
    from: '//# sourceMappingURL=file-command.js.map',
    to:
      '/* slipway: see scripts/patch-deps.mjs */\n' +
      'function singleLineMessage(key, value) {\n' +
      '    const text = toCommandValue(value);\n' +
      '    return /^[A-Za-z0-9_-]+$/.test(key) && !/[\\r\\n]/.test(text) ? `${key}=${text}` : undefined;\n' +
      '}\n' +
      '//# sourceMappingURL=file-command.js.map'
  },
  {
    file: 'node_modules/tunnel/lib/tunnel.js',
    from: "var assert = require('assert');\n",
    to: '/* slipway: unused require of assert left out, see scripts/patch-deps.mjs */\n'
  },
  {
    file: 'node_modules/@actions/io/lib/io.js',
    from: "import { ok } from 'assert';",
    to:
      '/* slipway: assert left out, see scripts/patch-deps.mjs */ ' +
      'function ok(value, message) { if (!value) throw new Error(message); }'
  },
  {
    file: 'node_modules/@actions/http-client/lib/index.js',
    from: "import { ProxyAgent } from 'undici';",
    to:
      '/* slipway: undici left out of the bundle, see scripts/patch-deps.mjs */ ' +
      'const ProxyAgent = function ProxyAgent() { throw new Error(' +
      "'getAgentDispatcher() is not available in Slipway\\'s bundle: undici is left out to halve start-up time'" +
      '); };'
  },
  {
    file: 'node_modules/@kubernetes/client-node/dist/config.js',
    from: "import { createConfiguration, ServerConfiguration, } from './gen/index.js';",
    to: leftOut(
      'createConfiguration, ServerConfiguration',
      "makeApiClient() is not available in Slipway's bundle: the generated API classes are left out (requests go through src/lib/kube/rest.ts)"
    )
  },
  {
    file: 'node_modules/@kubernetes/client-node/dist/config.js',
    from:
      "import { SocksProxyAgent } from 'socks-proxy-agent';\n" +
      "import { SocksClient } from 'socks';\n" +
      "import { HttpProxyAgent, HttpsProxyAgent } from 'hpagent';",
    to:
      '/* slipway: proxy agents imported when a cluster has a proxy-url, see scripts/patch-deps.mjs */ ' +
      'let SocksProxyAgent, SocksClient, HttpProxyAgent, HttpsProxyAgent; ' +
      'async function loadProxyAgents() { if (SocksProxyAgent) return; ' +
      "({ SocksProxyAgent } = await import('socks-proxy-agent')); " +
      "({ SocksClient } = await import('socks')); " +
      "({ HttpProxyAgent, HttpsProxyAgent } = await import('hpagent')); }"
  },
  {
    file: 'node_modules/@kubernetes/client-node/dist/config.js',
    from:
      'async applyToHTTPSOptions(opts) {\n' +
      '        const user = this.getCurrentUser();\n' +
      '        const cluster = this.getCurrentCluster();\n',
    to:
      'async applyToHTTPSOptions(opts) {\n' +
      '        const user = this.getCurrentUser();\n' +
      '        const cluster = this.getCurrentCluster();\n' +
      '        if (cluster && cluster.proxyUrl) await loadProxyAgents(); /* slipway: see scripts/patch-deps.mjs */\n'
  },
  {
    file: 'node_modules/@kubernetes/client-node/dist/oidc_auth.js',
    from: "import * as oidc from 'openid-client';",
    to:
      '/* slipway: openid-client imported when an oidc user needs it, see scripts/patch-deps.mjs */ ' +
      "let oidc; async function loadOidc() { oidc ??= await import('openid-client'); }"
  },
  {
    file: 'node_modules/@kubernetes/client-node/dist/oidc_auth.js',
    from: '    async refresh(token) {\n',
    to: '    async refresh(token) {\n        await loadOidc(); /* slipway */\n'
  },
  {
    file: 'node_modules/@kubernetes/client-node/dist/oidc_auth.js',
    from: '    async getClient(user) {\n',
    to: '    async getClient(user) {\n        await loadOidc(); /* slipway */\n'
  },
  {
    file: 'node_modules/@kubernetes/client-node/dist/config.js',
    from: "import { Agent as UndiciAgent, ProxyAgent as UndiciProxyAgent, } from 'undici';",
    to: leftOut(
      'UndiciAgent, UndiciProxyAgent',
      "the fetch dispatcher is not available in Slipway's bundle: undici is left out (requests go through node:https)"
    )
  }
];

/** Declarations of `names` as functions that throw `reason`: what a left-out import becomes. */
function leftOut(names, reason) {
  const thrower = `function () { throw new Error(${JSON.stringify(reason)}); }`;
  return (
    '/* slipway: left out of the bundle, see scripts/patch-deps.mjs */ ' +
    `const ${names
      .split(', ')
      .map(name => `${name} = ${thrower}`)
      .join(', ')};`
  );
}

export async function applyPatches(base = root) {
  for (const patch of patches) {
    const file = path.join(base, patch.file);
    const source = await readFile(file, 'utf8');
    if (source.includes(patch.to)) continue;
    if (!source.includes(patch.from))
      throw new Error(
        `scripts/patch-deps.mjs: ${patch.file} no longer contains "${patch.from}"; ` +
          'the dependency changed: check whether the patch is still needed and update it'
      );
    // A new file rather than an edit in place: node_modules may be hard-linked copies.
    const patched = source.replace(patch.from, patch.to);
    await writeFile(`${file}.slipway-tmp`, patched);
    await rename(`${file}.slipway-tmp`, file);
    console.log(`patched ${patch.file}`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await applyPatches();

import * as core from '@actions/core';
import { existsSync, readFileSync } from 'node:fs';
import { SlipwayError } from '../lib/errors.js';
import { Inputs } from '../lib/inputs.js';
import { KubeClient } from '../lib/kube/index.js';
import {
  nodeHttpSend,
  trustedCAs,
  verifyCredentials,
  type VerifyMethod
} from '../lib/registry/index.js';
import { STATE } from '../lib/state.js';
import { SummaryBuilder } from '../lib/summary.js';
import { readCaFile, readConfig, type LoginConfig } from './config.js';
import { extractCredentials, type ExtractedCredentials } from './credentials.js';
import { removeCredentials, writeDockerConfig } from './docker-config.js';

export { readConfig } from './config.js';

/** Where the credentials were written, for a flow that builds and deploys next. */
export interface RegistryLogin {
  registry: string;
  dockerConfig: string;
}

/** The action's entry point: inputs checked, then the work. */
export async function main(inputs = new Inputs()): Promise<RegistryLogin> {
  return run(readConfig(inputs));
}

/** Writes the Secret's credentials to a private DOCKER_CONFIG; `config` is already checked. */
export async function run(config: LoginConfig): Promise<RegistryLogin> {
  const caPem = readCaFile(config.caFile);
  const client = await KubeClient.connect({
    kubeconfig: config.kubeconfig,
    context: config.context
  });
  const namespace = config.namespace ?? client.target.namespace;
  core.debug(
    `Namespace ${namespace} (from ${config.namespace ? 'the namespace input' : 'the kubeconfig context'})`
  );
  const source = `Secret ${namespace}/${config.secretName}`;
  const extracted = await core.group(`Reading ${source} (${client.target.server})`, async () => {
    const secret = await client.readSecret(namespace, config.secretName);
    const result = extractCredentials(secret, config, source);
    core.info(
      `Found ${result.format} credentials for ${result.credentials.map(c => `${c.username}@${c.registry}`).join(', ')}`
    );
    return result;
  });
  if (!config.verify) core.debug('verify: false: the credentials are not checked');
  const methods = config.verify ? await verifyAll(extracted, source, caPem) : undefined;
  const dir = await core.group('Writing DOCKER_CONFIG', async () => writeDockerConfig(extracted));
  await core.group('Outputs and summary', async () => {
    setOutputs(config, extracted, dir);
    await summarize(config, source, extracted, methods, dir);
  });
  return { registry: extracted.credentials[0]?.registry ?? '', dockerConfig: dir };
}

async function verifyAll(
  extracted: ExtractedCredentials,
  source: string,
  caPem: string[]
): Promise<VerifyMethod[]> {
  const extraCa = process.env.NODE_EXTRA_CA_CERTS;
  core.debug(
    `Trust: system roots${caPem.length > 0 ? ' + ca-file' : ''}${extraCa ? ' + NODE_EXTRA_CA_CERTS' : ''}`
  );
  // `ca` replaces node's trust store, so the NODE_EXTRA_CA_CERTS file is added back explicitly.
  const ca =
    caPem.length > 0
      ? trustedCAs([
          ...caPem,
          ...(extraCa && existsSync(extraCa) ? [readFileSync(extraCa, 'utf8')] : [])
        ])
      : undefined;
  const send = nodeHttpSend(ca ? { ca } : {});
  const methods: VerifyMethod[] = [];
  for (const credential of extracted.credentials) {
    const method = await core.group(
      `Checking credentials with ${credential.registry}`,
      async () => {
        const result = await verifyCredentials(credential.registry, credential, { send, source });
        core.info(
          result === 'anonymous'
            ? `${credential.registry} allows anonymous access to /v2/; the credentials were not needed to log in.`
            : `${credential.registry} accepted user "${credential.username}" (${result} auth).`
        );
        return result;
      }
    );
    methods.push(method);
  }
  return methods;
}

function setOutputs(config: LoginConfig, extracted: ExtractedCredentials, dir: string): void {
  const [primary] = extracted.credentials;
  if (!primary) throw new SlipwayError('No credentials were selected.');
  core.setOutput('registry', primary.registry);
  core.setOutput('username', primary.username);
  core.setOutput('docker-config', dir);
  if (config.exportEnv) {
    core.exportVariable('REGISTRY_SERVER', primary.registry);
    core.exportVariable('REGISTRY_USER', primary.username);
  }
}

async function summarize(
  config: LoginConfig,
  source: string,
  extracted: ExtractedCredentials,
  methods: VerifyMethod[] | undefined,
  dir: string
): Promise<void> {
  const summary = new SummaryBuilder().heading('Registry login from Kubernetes Secret');
  summary.table(
    ['Registry', 'User', 'Checked'],
    extracted.credentials.map((credential, index) => [
      credential.registry,
      credential.username,
      methods ? `yes (${methods[index] ?? 'unknown'})` : 'no (verify: false)'
    ])
  );
  summary.facts([
    ['Secret', source],
    ['Format', extracted.format],
    ['DOCKER_CONFIG', dir],
    ['Exported', config.exportEnv ? 'REGISTRY_SERVER, REGISTRY_USER' : undefined]
  ]);
  await summary.write();
}

/** Removes the credentials and points DOCKER_CONFIG back where it was. */
export async function post(): Promise<void> {
  const dir = STATE.login.dockerConfigDir.get();
  if (dir) await core.group('Removing the credentials', () => removeCredentials(dir));
}

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A CA, a server certificate for `serverName` (and 127.0.0.1) and a client pair, made by openssl. */
export interface TlsMaterial {
  dir: string;
  caPem: string;
  clientCertPem: string;
  clientKeyPem: string;
  files: { ca: string; serverCert: string; serverKey: string };
}

export function makeTlsMaterial(serverName: string): TlsMaterial {
  const dir = mkdtempSync(path.join(tmpdir(), 'slipway-tls-'));
  const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const file = (name: string) => path.join(dir, name);
  openssl([
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=slipway-test-ca',
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem'
  ]);
  const sign = (name: string, subject: string, extensions: string) => {
    openssl([
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-subj',
      subject,
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`
    ]);
    writeFileSync(file(`${name}.ext`), extensions);
    openssl([
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
      '-out',
      `${name}.pem`
    ]);
  };
  sign(
    'server',
    `/CN=${serverName}`,
    `subjectAltName=DNS:${serverName},IP:127.0.0.1\nextendedKeyUsage=serverAuth\n`
  );
  sign('client', '/CN=slipway-client', 'extendedKeyUsage=clientAuth\n');
  return {
    dir,
    caPem: readFileSync(file('ca.pem'), 'utf8'),
    clientCertPem: readFileSync(file('client.pem'), 'utf8'),
    clientKeyPem: readFileSync(file('client.key'), 'utf8'),
    files: { ca: file('ca.pem'), serverCert: file('server.pem'), serverKey: file('server.key') }
  };
}

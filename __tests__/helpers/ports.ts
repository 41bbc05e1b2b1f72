import { execFileSync } from 'node:child_process';

/**
 * A loopback TCP port nothing listens on, chosen by the kernel (bound to port 0, then released) and
 * returned synchronously, for a daemon a test starts itself. The kernel picks from its ephemeral
 * range, which none of the stack's fixed ports (25000–25443) are in: a port drawn at random from
 * 25300–25899 once landed on the stack's git daemon (25418), and the test's buildkitd could not
 * listen.
 */
export function freeLoopbackPort(): number {
  return Number(
    execFileSync(
      process.execPath,
      [
        '-e',
        "const s = require('node:net').createServer().listen(0, '127.0.0.1', () => { process.stdout.write(String(s.address().port)); s.close(); });"
      ],
      { encoding: 'utf8' }
    )
  );
}

/**
 * Test certificates made with the openssl command at test time, in a temp dir: a CA, server
 * certificates for 127.0.0.1/localhost signed by it (several, to tell a reloaded one apart), and
 * client certificates — one the CA signed, one self-signed (a certificate the CA never vouched for).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPki {
  readonly dir: string;
  readonly caFile: string;
  readonly ca: Buffer;
  /** A server certificate for 127.0.0.1 and localhost, CN = `cn`; files cert/key, PEM. */
  server(cn: string): { certFile: string; keyFile: string };
  /** A client certificate with this subject (`/CN=alice/O=jkb tests`), signed by the CA unless `selfSigned`. */
  client(subject: string, selfSigned?: boolean): { cert: Buffer; key: Buffer };
  close(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

export function makePki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'jkb-pki-'));
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=jkbalancer test CA'], dir);
  let n = 0;
  const issue = (subject: string, ext: string | null, selfSigned: boolean): { certFile: string; keyFile: string } => {
    const base = `c${++n}`;
    openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${base}.key`, '-out', `${base}.csr`, '-subj', subject], dir);
    const sign = selfSigned ? ['-signkey', `${base}.key`] : ['-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', String(1000 + n)];
    const extArgs: string[] = [];
    if (ext !== null) {
      writeFileSync(join(dir, `${base}.ext`), ext);
      extArgs.push('-extfile', `${base}.ext`);
    }
    openssl(['x509', '-req', '-in', `${base}.csr`, ...sign, '-out', `${base}.pem`, '-days', '2', ...extArgs], dir);
    return { certFile: join(dir, `${base}.pem`), keyFile: join(dir, `${base}.key`) };
  };
  return {
    dir,
    caFile: join(dir, 'ca.pem'),
    ca: readFileSync(join(dir, 'ca.pem')),
    server: (cn) => issue(`/CN=${cn}`, 'subjectAltName=DNS:localhost,IP:127.0.0.1\n', false),
    client(subject, selfSigned = false) {
      const f = issue(subject, 'extendedKeyUsage=clientAuth\n', selfSigned);
      return { cert: readFileSync(f.certFile), key: readFileSync(f.keyFile) };
    },
    close: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * The TLS listener's certificate, key and client-certificate settings: read from PEM files and
 * checked before they serve — at start (a failure stops the start) and on SIGHUP (a failure keeps
 * the old ones serving).
 */
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { X509Certificate } from 'node:crypto';

/** `--tls-client-cert`: ask for a client certificate, or refuse the handshake without a valid one. */
export type ClientCertMode = 'request' | 'require';
export const CLIENT_CERT_MODES: readonly ClientCertMode[] = ['request', 'require'];

export interface TlsFiles {
  /** PEM: the server certificate, then its chain. */
  readonly certFile: string;
  /** PEM: the certificate's private key (unencrypted). */
  readonly keyFile: string;
  /** PEM: the CAs client certificates must chain to. */
  readonly caFile?: string;
  /** Absent: no client certificate is asked for. */
  readonly clientCert?: ClientCertMode;
}

/** Loaded, checked PEM material for tls.createServer / setSecureContext. */
export type TlsMaterial = Pick<SecureContextOptions, 'cert' | 'key' | 'ca'>;

/** Every TLS listener's settings besides the files (TLS 1.2 or newer, our cipher order). */
export const SECURE_DEFAULTS = { minVersion: 'TLSv1.2', honorCipherOrder: true } as const satisfies SecureContextOptions;

function read(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new Error(`cannot read the TLS ${what} ${file}: ${(err as Error).message}`);
  }
}

/**
 * Reads and checks the files: each certificate parses, the key loads and belongs to the first
 * certificate (OpenSSL checks that when it builds a context). Throws an Error saying which file
 * and what is wrong.
 */
export function loadTlsMaterial(files: TlsFiles): TlsMaterial {
  const cert = read(files.certFile, 'certificate');
  const key = read(files.keyFile, 'key');
  const ca = files.caFile !== undefined ? read(files.caFile, 'CA file') : undefined;
  try {
    new X509Certificate(cert);
  } catch (err) {
    throw new Error(`the TLS certificate ${files.certFile} is not a PEM certificate: ${(err as Error).message}`);
  }
  if (ca !== undefined) {
    try {
      new X509Certificate(ca);
    } catch (err) {
      throw new Error(`the TLS CA file ${files.caFile} is not a PEM certificate: ${(err as Error).message}`);
    }
  }
  const material: TlsMaterial = { cert, key, ...(ca !== undefined ? { ca } : {}) };
  try {
    createSecureContext({ ...SECURE_DEFAULTS, ...material });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ERR_OSSL_X509_KEY_VALUES_MISMATCH' ? `the key ${files.keyFile} does not belong to the certificate ${files.certFile}` : `${files.keyFile} / ${files.certFile}: ${e.message}`;
    throw new Error(`TLS certificate and key refused: ${why}`);
  }
  return material;
}

/** The listener options for client certificates. */
export function clientCertOptions(files: TlsFiles): { requestCert: boolean; rejectUnauthorized: boolean } {
  // 'request': the handshake succeeds without a (valid) certificate; the backend sees what came.
  return { requestCert: files.clientCert !== undefined, rejectUnauthorized: files.clientCert === 'require' };
}

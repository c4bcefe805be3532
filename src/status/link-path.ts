/**
 * The path every link and form of the classic HTML page points at: the request path as the
 * listener normalised it to find the status worker's mount
 * (docs/uri-mapping.md#path-normalisation), re-encoded segment by segment.
 *
 * Never the raw request path: `//evil.example/..;/jkstatus` matches the `/jkstatus` mount, but
 * echoed as it came it turns every link into a protocol-relative URL to another host
 * (`href="//evil.example/..;/jkstatus?cmd=edit…"`). The normalised path has no empty segments,
 * so it cannot start with `//`, and re-encoding keeps a decoded `?`, `#`, `\` or `%` from
 * changing what a link means; it normalises back to the same path, so the links reach the same
 * status worker.
 */
import { normalizePath } from '../config/index.js';

/** The link path for a raw request path (query already removed), or null when it is not one the listener accepts. */
export function linkPath(rawPath: string): string | null {
  const path = normalizePath(rawPath);
  return path === null ? null : path.split('/').map(encodeURIComponent).join('/');
}

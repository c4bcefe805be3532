/**
 * Whether this Node lets cluster workers each listen on the same fixed port with SO_REUSEPORT
 * (`reusePort`, Node 22.12+ and 23.1+; 23.0 accepts the option and ignores it). Without it the
 * cluster primary accepts every connection and hands it to a worker in turn.
 */
const [major, minor] = process.versions.node.split('.').map(Number);
export const NODE_HAS_REUSE_PORT = major > 22 || (major === 22 && minor >= 12);

/**
 * The static backends for `npm run bench`: one listener per route answering every request head
 * with a canned small reply straight from the socket (no HTTP parser, no per-request objects), so
 * that the backends, which share a core with the load generator, cost as little as possible and the
 * proxy is what gets measured. Like Tomcat, a request without a cookie gets
 * `Set-Cookie: JSESSIONID=<n>.<route>`. Requests without a body only: it is a bench target, not a server.
 *
 *   node backend.js node1 node2 node3   (prints {"node1":port,…} once all listen; exits when stdin closes)
 */
import net, { type AddressInfo } from 'node:net';

const HEAD_END = '\r\n\r\n';
const HAS_COOKIE = /\r\ncookie:/i;
let sessions = 0;

function serve(route: string): net.Server {
  const body = `hello from ${route}\n`;
  const withCookie = `HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\n\r\n${body}`;
  const newSession = () =>
    `HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\nset-cookie: JSESSIONID=${(++sessions).toString(16)}.${route}; Path=/\r\n\r\n${body}`;
  return net.createServer({ noDelay: true }, (socket) => {
    let pending = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      pending += chunk;
      // Every complete head gets its reply; pipelined heads are answered in one write.
      let out = '';
      let at = 0;
      for (let end = pending.indexOf(HEAD_END); end >= 0; end = pending.indexOf(HEAD_END, at)) {
        out += HAS_COOKIE.test(pending.slice(at, end)) ? withCookie : newSession();
        at = end + HEAD_END.length;
      }
      pending = pending.slice(at);
      if (out) socket.write(out, 'latin1');
    });
    socket.on('error', () => socket.destroy());
  });
}

const ports: Record<string, number> = {};
for (const route of process.argv.slice(2)) {
  const server = serve(route);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  ports[route] = (server.address() as AddressInfo).port;
}
process.stdout.write(`${JSON.stringify(ports)}\n`);
// The bench holds our stdin: its end means the bench is gone, even if it was killed outright.
process.stdin.on('end', () => process.exit(0)).resume();

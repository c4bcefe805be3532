/**
 * The fast local backend for `npm run bench`: a node:http server per route answering a small
 * body and issuing `JSESSIONID=<n>.<route>` like Tomcat. Run as its own process; prints its ports.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const routes = process.argv.slice(2);
const ports: Record<string, number> = {};
let counter = 0;
for (const route of routes) {
  const body = Buffer.from(`hello from ${route}\n`);
  const server = http.createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'text/plain', 'content-length': body.length };
    if (!req.headers.cookie) headers['set-cookie'] = `JSESSIONID=${(++counter).toString(16)}.${route}; Path=/`;
    res.writeHead(200, headers);
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  ports[route] = (server.address() as AddressInfo).port;
}
process.stdout.write(`${JSON.stringify(ports)}\n`);

/*
 * The test webapp for jkbalancer's Tomcat harness (test/helpers/tomcat.ts). One servlet, mapped to
 * /app/*, dispatching on the path so a single class compiles fast:
 *   /session            create/reuse a session, count hits, reply JSON {jvmRoute, sessionId, hits, isNew}
 *   /echo               reply JSON describing the request (method, uri, query, headers, remote addr/port,
 *                       JK_LB_ACTIVATION, TLS attributes and the client certificate's subject, body
 *                       length + sha256). Options (query):
 *                       status=N reply status, sleepMs=N wait before replying, cookies=a,b add one
 *                       Set-Cookie per name, header=Name:Value add a response header
 *   /big?bytes=N        stream N bytes (byte i = i % 251) without Content-Length (chunked over HTTP);
 *                       length=1 sets Content-Length instead
 *   /stall?ms=N         send headers and 5 bytes, flush, sleep N ms, then send 5 more bytes
 *   /hello              a small fixed text reply naming the jvmRoute, as a page handler answers a GET:
 *                       it never reads the request body (the bench's Tomcat rows)
 */
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Collections;

import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpSession;

public class JkTestServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;

    @Override
    protected void service(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        String path = req.getPathInfo() == null ? "" : req.getPathInfo();
        switch (path) {
            case "/session" -> session(req, resp);
            case "/echo" -> echo(req, resp);
            case "/big" -> big(req, resp);
            case "/stall" -> stall(req, resp);
            case "/hello" -> hello(resp);
            default -> resp.sendError(404);
        }
    }

    private static void session(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        HttpSession s = req.getSession(true);
        Integer hits = (Integer) s.getAttribute("hits");
        int n = hits == null ? 1 : hits + 1;
        s.setAttribute("hits", n);
        Json j = new Json();
        j.str("jvmRoute", System.getProperty("jk.jvmRoute", "")).str("sessionId", s.getId())
                .num("hits", n).bool("isNew", s.isNew());
        writeJson(resp, 200, j);
    }

    private static void echo(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        // The body is read before any getParameter(), which would swallow a form body.
        MessageDigest sha;
        try {
            sha = MessageDigest.getInstance("SHA-256");
        } catch (Exception e) {
            throw new IOException(e);
        }
        long bodyLength = 0;
        byte[] buf = new byte[65536];
        try (InputStream in = req.getInputStream()) {
            int n;
            while ((n = in.read(buf)) > 0) {
                sha.update(buf, 0, n);
                bodyLength += n;
            }
        }
        sleep(longParam(req, "sleepMs", 0));
        Json headers = new Json();
        for (String name : Collections.list(req.getHeaderNames())) {
            headers.arr(name, Collections.list(req.getHeaders(name)));
        }
        Json j = new Json();
        j.str("jvmRoute", System.getProperty("jk.jvmRoute", "")).str("method", req.getMethod())
                .str("uri", req.getRequestURI()).str("query", req.getQueryString())
                .str("protocol", req.getProtocol()).str("scheme", req.getScheme()).bool("secure", req.isSecure())
                .str("serverName", req.getServerName()).num("serverPort", req.getServerPort())
                .str("remoteAddr", req.getRemoteAddr()).str("remoteHost", req.getRemoteHost())
                .num("remotePort", req.getRemotePort())
                .str("activation", (String) req.getAttribute("JK_LB_ACTIVATION"))
                .str("cipherSuite", String.valueOf(req.getAttribute("jakarta.servlet.request.cipher_suite")))
                .str("keySize", String.valueOf(req.getAttribute("jakarta.servlet.request.key_size")))
                .str("sslSession", String.valueOf(req.getAttribute("jakarta.servlet.request.ssl_session_id")))
                .str("sslProtocol", String.valueOf(req.getAttribute("org.apache.tomcat.util.net.secure_protocol_version")))
                .str("clientCertSubject", clientCertSubject(req))
                .str("requestedSessionId", req.getRequestedSessionId())
                .num("contentLength", req.getContentLengthLong()).num("bodyLength", bodyLength)
                .str("bodySha256", hex(sha.digest())).raw("headers", headers.toString());
        String cookies = req.getParameter("cookies");
        if (cookies != null) {
            for (String c : cookies.split(",")) resp.addHeader("Set-Cookie", c + "=v-" + c + "; Path=/");
        }
        String header = req.getParameter("header");
        if (header != null && header.indexOf(':') > 0) {
            int i = header.indexOf(':');
            resp.addHeader(header.substring(0, i), header.substring(i + 1));
        }
        writeJson(resp, (int) longParam(req, "status", 200), j);
    }

    /** The first certificate's subject (RFC 2253), or null when the request carried none. */
    private static String clientCertSubject(HttpServletRequest req) {
        Object certs = req.getAttribute("jakarta.servlet.request.X509Certificate");
        if (!(certs instanceof java.security.cert.X509Certificate[] chain) || chain.length == 0) return null;
        return chain[0].getSubjectX500Principal().getName();
    }

    private static void hello(HttpServletResponse resp) throws IOException {
        byte[] body = ("hello from " + System.getProperty("jk.jvmRoute", "") + "\n").getBytes(StandardCharsets.UTF_8);
        resp.setContentType("text/plain;charset=UTF-8");
        resp.setContentLength(body.length);
        resp.getOutputStream().write(body);
    }

    private static void big(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        long bytes = longParam(req, "bytes", 1 << 20);
        resp.setStatus(200);
        resp.setContentType("application/octet-stream");
        if (longParam(req, "length", 0) == 1) resp.setContentLengthLong(bytes);
        byte[] block = new byte[251 * 64];
        for (int i = 0; i < block.length; i++) block[i] = (byte) (i % 251);
        OutputStream out = resp.getOutputStream();
        long left = bytes;
        while (left > 0) {
            int n = (int) Math.min(left, block.length);
            out.write(block, 0, n);
            left -= n;
        }
        out.flush();
    }

    private static void stall(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        resp.setStatus(200);
        resp.setContentType("text/plain");
        OutputStream out = resp.getOutputStream();
        out.write("first".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        sleep(longParam(req, "ms", 1000));
        out.write("later".getBytes(StandardCharsets.US_ASCII));
    }

    private static void writeJson(HttpServletResponse resp, int status, Json j) throws IOException {
        byte[] body = j.toString().getBytes(StandardCharsets.UTF_8);
        resp.setStatus(status);
        resp.setContentType("application/json;charset=UTF-8");
        resp.setContentLength(body.length);
        resp.getOutputStream().write(body);
    }

    private static long longParam(HttpServletRequest req, String name, long dflt) {
        String v = req.getParameter(name);
        if (v == null) return dflt;
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            return dflt;
        }
    }

    private static void sleep(long ms) {
        if (ms <= 0) return;
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static String hex(byte[] b) {
        StringBuilder sb = new StringBuilder();
        for (byte x : b) sb.append(String.format("%02x", x));
        return sb.toString();
    }

    /** A minimal JSON object writer: enough for flat values, string arrays and nested objects. */
    private static final class Json {
        private final StringBuilder sb = new StringBuilder("{");

        private Json key(String k) {
            if (sb.length() > 1) sb.append(',');
            quote(k);
            sb.append(':');
            return this;
        }

        Json str(String k, String v) {
            key(k);
            if (v == null) sb.append("null");
            else quote(v);
            return this;
        }

        Json num(String k, long v) {
            key(k).sb.append(v);
            return this;
        }

        Json bool(String k, boolean v) {
            key(k).sb.append(v);
            return this;
        }

        Json arr(String k, java.util.List<String> vs) {
            key(k).sb.append('[');
            for (int i = 0; i < vs.size(); i++) {
                if (i > 0) sb.append(',');
                quote(vs.get(i));
            }
            sb.append(']');
            return this;
        }

        Json raw(String k, String json) {
            key(k).sb.append(json);
            return this;
        }

        private void quote(String s) {
            sb.append('"');
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c == '"' || c == '\\') sb.append('\\').append(c);
                else if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
                else sb.append(c);
            }
            sb.append('"');
        }

        @Override
        public String toString() {
            return sb + "}";
        }
    }
}

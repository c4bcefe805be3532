/**
 * AJP13 wire constants (Apache JServ Protocol 1.3 as spoken by mod_jk and Tomcat's AJP connector).
 * Packets to the container start with 0x12 0x34, packets from it with 'A' 'B'; then a 2-byte
 * big-endian payload length. Integers are 2 bytes big-endian; strings are a 2-byte length, the
 * bytes, and a trailing NUL (length 0xFFFF = null string).
 */

export const HEADER_SIZE = 4;
/** Body packets carry their own 2-byte chunk length after the packet header. */
export const BODY_HEADER_SIZE = 6;
export const NULL_STRING = 0xffff;

// Web server → container prefix codes
export const FORWARD_REQUEST = 2;
export const CPING = 10;

// Container → web server prefix codes
export const SEND_BODY_CHUNK = 3;
export const SEND_HEADERS = 4;
export const END_RESPONSE = 5;
export const GET_BODY_CHUNK = 6;
export const CPONG = 9;

/** Method byte for a method outside the table: the name travels in the stored_method attribute. */
export const METHOD_STORED = 0xff;

/** Method codes, 1-based in table order (the set Tomcat's AJP connector decodes). */
export const METHOD_CODES: ReadonlyMap<string, number> = new Map(
  [
    'OPTIONS', 'GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'TRACE', 'PROPFIND', 'PROPPATCH', 'MKCOL',
    'COPY', 'MOVE', 'LOCK', 'UNLOCK', 'ACL', 'REPORT', 'VERSION-CONTROL', 'CHECKIN', 'CHECKOUT',
    'UNCHECKOUT', 'SEARCH', 'MKWORKSPACE', 'UPDATE', 'LABEL', 'MERGE', 'BASELINE-CONTROL', 'MKACTIVITY',
  ].map((m, i) => [m, i + 1]),
);

/** Request header names sent as 0xA0xx codes (matched case-insensitively). */
export const REQUEST_HEADER_CODES: ReadonlyMap<string, number> = new Map(
  [
    'accept', 'accept-charset', 'accept-encoding', 'accept-language', 'authorization', 'connection',
    'content-type', 'content-length', 'cookie', 'cookie2', 'host', 'pragma', 'referer', 'user-agent',
  ].map((h, i) => [h, 0xa001 + i]),
);

/** Response header names for codes 0xA001… (index = code − 0xA001). */
export const RESPONSE_HEADER_NAMES: readonly string[] = [
  'Content-Type', 'Content-Language', 'Content-Length', 'Date', 'Last-Modified', 'Location',
  'Set-Cookie', 'Set-Cookie2', 'Servlet-Engine', 'Status', 'WWW-Authenticate',
];

// Request attribute codes
export const ATTR_QUERY_STRING = 0x05;
export const ATTR_ROUTE = 0x06;
export const ATTR_SSL_CERT = 0x07;
export const ATTR_SSL_CIPHER = 0x08;
export const ATTR_SSL_SESSION = 0x09;
/** Followed by two strings: name and value. */
export const ATTR_REQ_ATTRIBUTE = 0x0a;
/** Followed by an integer, not a string. */
export const ATTR_SSL_KEY_SIZE = 0x0b;
export const ATTR_SECRET = 0x0c;
export const ATTR_STORED_METHOD = 0x0d;
export const ATTRS_DONE = 0xff;

/** Named request attributes Tomcat takes over without an allow-list (others get a 403 from Tomcat ≥ 9.0.31). */
export const REQ_ATTR_REMOTE_PORT = 'AJP_REMOTE_PORT';
export const REQ_ATTR_SSL_PROTOCOL = 'AJP_SSL_PROTOCOL';
export const REQ_ATTR_LB_ACTIVATION = 'JK_LB_ACTIVATION';

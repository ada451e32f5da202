"""A small HTTP/1.1 server and client on asyncio, for the fake providers.

Server: one asyncio.Protocol per connection; requests with Content-Length or
chunked bodies; keep-alive; HTTP/1.0 and "Connection: close" honoured;
"Expect: 100-continue" answered.  Requests on one connection are handled one
at a time (a pipelined request waits in the connection's queue).  The
application's handler returns either a Response (answered at once, the fast
path) or an awaitable that yields a Response, or None to close the connection
without an answer.  Idle connections are closed by Server.sweep().

Client: post() for callbacks, with a small keep-alive pool per host; loopback
only; every step is bounded by a timeout.

Stdlib only (Debian's /usr/bin/python3).
"""

import asyncio
import collections
import ssl
import time
import urllib.parse
from email.utils import formatdate

MAX_HEADER = 64 * 1024
MAX_BODY = 8 * 1024 * 1024

REASONS = {
    100: "Continue", 200: "OK", 201: "Created", 204: "No Content",
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
    404: "Not Found", 405: "Method Not Allowed", 411: "Length Required",
    413: "Payload Too Large", 429: "Too Many Requests",
    431: "Request Header Fields Too Large", 500: "Internal Server Error",
    501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
    504: "Gateway Timeout",
}


class Request:
    __slots__ = ("method", "target", "path", "query", "version", "headers",
                 "body", "keep_alive", "t", "acct", "conn")

    def header(self, name, default=""):
        return self.headers.get(name, default)


class Response:
    __slots__ = ("status", "body", "content_type", "headers", "close")

    def __init__(self, status, body=b"", content_type="application/json",
                 headers=None, close=False):
        self.status = status
        self.body = body if isinstance(body, bytes) else body.encode()
        self.content_type = content_type
        self.headers = headers
        self.close = close


class BadHttp(Exception):
    def __init__(self, status, text):
        super().__init__(text)
        self.status = status


_date_cache = [0, b""]


def _http_date():
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache[0] = now
        _date_cache[1] = formatdate(now, usegmt=True).encode()
    return _date_cache[1]


def _parse_head(head):
    """head: bytes up to (not including) the blank line. Returns a Request."""
    try:
        text = head.decode("latin-1")
    except Exception:  # pragma: no cover - latin-1 decodes anything
        raise BadHttp(400, "bad request head")
    lines = text.split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise BadHttp(400, "bad request line")
    req = Request()
    req.method, req.target, req.version = parts
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise BadHttp(400, "bad header line")
        name = name.lower()
        value = value.strip()
        if name in headers:
            headers[name] = headers[name] + ", " + value
        else:
            headers[name] = value
    req.headers = headers
    path, _, query = req.target.partition("?")
    req.path = path
    req.query = query
    conn = headers.get("connection", "").lower()
    if req.version == "HTTP/1.0":
        req.keep_alive = "keep-alive" in conn
    else:
        req.keep_alive = "close" not in conn
    req.acct = None
    return req


class HttpConnection(asyncio.Protocol):
    """One client connection. Not thread-safe (the loop's thread only)."""

    def __init__(self, server):
        self.server = server
        self.transport = None
        self.buf = bytearray()
        self.head = None          # parsed Request waiting for its body
        self.need = 0             # body bytes needed (Content-Length)
        self.chunked = False
        self.pending = collections.deque()
        self.busy = False
        self.closed = False
        self.last = time.monotonic()
        self.task = None
        self.current = None

    # -- asyncio.Protocol
    def connection_made(self, transport):
        self.transport = transport
        self.server.conns.add(self)
        self.server.on_open()

    def connection_lost(self, exc):
        self.closed = True
        self.server.conns.discard(self)
        if self.task is not None:
            self.task.cancel()
        if self.current is not None:
            self.server.app.release(self.current)
            self.current = None

    def data_received(self, data):
        self.last = time.monotonic()
        self.buf += data
        try:
            while self._parse_one():
                pass
        except BadHttp as e:
            self._send_raw(Response(e.status, str(e).encode(), "text/plain",
                                    close=True))
            return
        if not self.busy:
            self._run()

    # -- parsing
    def _parse_one(self):
        if self.closed:
            return False
        if self.head is None:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > MAX_HEADER:
                    raise BadHttp(431, "header too large")
                return False
            req = _parse_head(bytes(self.buf[:end]))
            del self.buf[:end + 4]
            te = req.headers.get("transfer-encoding", "").lower()
            if te:
                if te != "chunked":
                    raise BadHttp(501, "unsupported transfer-encoding")
                self.chunked = True
                self.need = 0
            else:
                cl = req.headers.get("content-length", "0") or "0"
                if not cl.isdigit():
                    raise BadHttp(400, "bad content-length")
                self.need = int(cl)
                if self.need > MAX_BODY:
                    raise BadHttp(413, "body too large")
            if req.headers.get("expect", "").lower() == "100-continue":
                self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            self.head = req
        req = self.head
        if self.chunked:
            body = self._dechunk()
            if body is None:
                return False
            req.body = body
            self.chunked = False
        else:
            if len(self.buf) < self.need:
                return False
            req.body = bytes(self.buf[:self.need])
            del self.buf[:self.need]
        self.head = None
        req.t = time.monotonic()
        req.conn = self
        self.pending.append(req)
        return True

    def _dechunk(self):
        out = bytearray()
        pos = 0
        buf = self.buf
        while True:
            eol = buf.find(b"\r\n", pos)
            if eol < 0:
                return None
            size_s = bytes(buf[pos:eol]).split(b";")[0].strip()
            try:
                size = int(size_s, 16)
            except ValueError:
                raise BadHttp(400, "bad chunk size")
            pos = eol + 2
            if size == 0:
                # trailers until an empty line
                while True:
                    eol = buf.find(b"\r\n", pos)
                    if eol < 0:
                        return None
                    if eol == pos:
                        del buf[:eol + 2]
                        return bytes(out)
                    pos = eol + 2
            if len(buf) < pos + size + 2:
                return None
            out += buf[pos:pos + size]
            if len(out) > MAX_BODY:
                raise BadHttp(413, "body too large")
            pos += size + 2

    # -- answering
    def _run(self):
        while self.pending and not self.busy and not self.closed:
            req = self.pending.popleft()
            self.current = req
            try:
                res = self.server.app.handle(req)
            except Exception as e:  # a bug in the fake: answer 500, log it
                self.server.app.log(f"handler error on {req.method} "
                                    f"{req.target}: {e!r}")
                res = Response(500, b'{"fake":"handler error"}')
            if isinstance(res, Response) or res is None:
                self._finish(req, res)
            else:
                self.busy = True
                self.task = asyncio.ensure_future(self._wait(req, res))

    async def _wait(self, req, awaitable):
        try:
            res = await awaitable
        except asyncio.CancelledError:
            return
        except Exception as e:
            self.server.app.log(f"handler error on {req.target}: {e!r}")
            res = Response(500, b'{"fake":"handler error"}')
        self.task = None
        self.busy = False
        self._finish(req, res)
        if not self.closed:
            self._run()

    def _finish(self, req, res):
        self.current = None
        if res is None:           # close without an answer
            self.server.app.release(req)
            self.close()
            return
        if not req.keep_alive:
            res.close = True
        self._send_raw(res)
        self.server.app.release(req)

    def _send_raw(self, res):
        if self.closed:
            return
        extra = b""
        if res.headers:
            extra = b"".join(f"{k}: {v}\r\n".encode()
                             for k, v in res.headers)
        head = (b"HTTP/1.1 %d %s\r\nServer: %s\r\nDate: %s\r\n"
                b"Content-Type: %s\r\nContent-Length: %d\r\n%s%s\r\n" % (
                    res.status, REASONS.get(res.status, "Status").encode(),
                    self.server.server_name, _http_date(),
                    res.content_type.encode(), len(res.body), extra,
                    b"Connection: close\r\n" if res.close
                    else b"Connection: keep-alive\r\n"))
        self.transport.write(head + res.body)
        self.last = time.monotonic()
        if res.close:
            self.close()

    def close(self):
        if not self.closed:
            self.closed = True
            self.transport.close()


class Server:
    """Owns the listening socket and the connections. `app` has handle(req),
    release(req) and log(text)."""

    def __init__(self, app, idle_timeout=60.0, server_name=b"nginx"):
        self.app = app
        self.conns = set()
        self.idle_timeout = idle_timeout
        self.server_name = server_name
        self.aserver = None
        self.max_connections = 0
        self.connections_total = 0

    def on_open(self):
        self.connections_total += 1
        if len(self.conns) > self.max_connections:
            self.max_connections = len(self.conns)

    async def start(self, host, port, ssl_ctx=None):
        loop = asyncio.get_running_loop()
        self.aserver = await loop.create_server(
            lambda: HttpConnection(self), host, port, ssl=ssl_ctx,
            backlog=1024, reuse_address=True)
        return self.aserver.sockets[0].getsockname()[1]

    def sweep(self):
        """Close connections idle (no request in progress) for longer than
        idle_timeout."""
        now = time.monotonic()
        for c in list(self.conns):
            if not c.busy and c.head is None and not c.pending and \
                    now - c.last > self.idle_timeout:
                c.close()

    def close(self):
        if self.aserver is not None:
            self.aserver.close()
        for c in list(self.conns):
            c.close()


# ---- client -----------------------------------------------------------------

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}


class Client:
    """POSTs callbacks. A keep-alive pool per (scheme, host, port); loopback
    hosts only; each request bounded by `timeout` seconds."""

    def __init__(self, timeout=10.0):
        self.timeout = timeout
        self.idle = collections.defaultdict(list)
        self._ssl = ssl.create_default_context()
        self._ssl.check_hostname = False   # loopback test endpoint
        self._ssl.verify_mode = ssl.CERT_NONE

    async def post(self, url, body, headers):
        """Returns (status, body bytes). Raises on connect/protocol errors and
        on timeouts."""
        u = urllib.parse.urlsplit(url)
        host = u.hostname or ""
        if host not in LOOPBACK_HOSTS and not host.startswith("127."):
            raise ValueError(f"callback host {host!r} is not loopback")
        port = u.port or (443 if u.scheme == "https" else 80)
        target = (u.path or "/") + (("?" + u.query) if u.query else "")
        hostport = u.netloc
        key = (u.scheme, host, port)
        head = [f"POST {target} HTTP/1.1", f"Host: {hostport}",
                f"Content-Length: {len(body)}", "Connection: keep-alive"]
        head += [f"{k}: {v}" for k, v in headers]
        data = ("\r\n".join(head) + "\r\n\r\n").encode() + body
        for attempt in (0, 1):
            reused = bool(self.idle[key])
            if reused:
                reader, writer = self.idle[key].pop()
            else:
                reader, writer = await asyncio.wait_for(
                    asyncio.open_connection(
                        host, port,
                        ssl=self._ssl if u.scheme == "https" else None),
                    self.timeout)
            try:
                res = await asyncio.wait_for(
                    self._exchange(reader, writer, data), self.timeout)
            except (ConnectionError, asyncio.IncompleteReadError) as e:
                writer.close()
                if reused and attempt == 0:
                    continue     # the peer closed an idle connection
                raise e
            except BaseException:
                writer.close()
                raise
            status, rbody, keep = res
            if keep and len(self.idle[key]) < 64:
                self.idle[key].append((reader, writer))
            else:
                writer.close()
            return status, rbody
        raise ConnectionError("unreachable")  # pragma: no cover

    async def _exchange(self, reader, writer, data):
        writer.write(data)
        await writer.drain()
        line = await reader.readuntil(b"\r\n")
        parts = line.decode("latin-1").split(" ", 2)
        status = int(parts[1])
        headers = {}
        while True:
            line = await reader.readuntil(b"\r\n")
            if line == b"\r\n":
                break
            k, _, v = line.decode("latin-1").partition(":")
            headers[k.strip().lower()] = v.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = bytearray()
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0],
                           16)
                chunk = await reader.readexactly(size + 2)
                if size == 0:
                    break
                body += chunk[:-2]
            body = bytes(body)
        elif "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        else:
            body = await reader.read()
            return status, body, False
        keep = headers.get("connection", "").lower() != "close" and \
            parts[0] == "HTTP/1.1"
        return status, body, keep

    def close(self):
        for conns in self.idle.values():
            for _, w in conns:
                w.close()
        self.idle.clear()

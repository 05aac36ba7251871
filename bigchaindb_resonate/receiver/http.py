"""A small HTTP/1.1 server on asyncio streams: JSON in, JSON out, keep-alive.

The receiver answers thousands of players holding connections open; one event loop
serves them all without a thread each. It needs nothing beyond the standard library, so
the receiver runs wherever the client library installs. Requests carry a Content-Length
body (no chunked uploads); anything else is answered 400 and the connection closed.
"""
import asyncio
import json

MAX_HEAD = 16 * 1024
MAX_BODY = 1024 * 1024
REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
           413: "Payload Too Large", 500: "Internal Server Error", 503: "Service Unavailable"}


class HttpError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


def encode(status, body, keep_alive):
    payload = json.dumps(body, separators=(",", ":")).encode()
    head = (f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
            f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n")
    return head.encode() + payload


async def read_request(reader):
    """(method, path, query, headers, body), or None when the peer closed between requests."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None
        raise HttpError(400, "incomplete request") from None
    except asyncio.LimitOverrunError:
        raise HttpError(413, "request head too large") from None
    lines = head.decode("latin-1").split("\r\n")
    try:
        method, target, version = lines[0].split(" ")
    except ValueError:
        raise HttpError(400, "malformed request line") from None
    headers = {}
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    if "chunked" in headers.get("transfer-encoding", ""):
        raise HttpError(400, "send a Content-Length body")
    try:
        length = int(headers.get("content-length", "0"))
    except ValueError:
        raise HttpError(400, "bad Content-Length") from None
    if not 0 <= length <= MAX_BODY:
        raise HttpError(413, f"bodies are at most {MAX_BODY} bytes")
    body = await reader.readexactly(length) if length else b""
    path, _, query = target.partition("?")
    keep_alive = (headers.get("connection", "").lower() != "close"
                  and version.upper() == "HTTP/1.1")
    return method.upper(), path, _query(query), keep_alive, body


def _query(text):
    from urllib.parse import parse_qsl

    return dict(parse_qsl(text))


async def serve(handler, host, port):
    """Start serving `handler(method, path, query, body) -> (status, JSON body)`; the
    asyncio server (its sockets say where it listens) and `close_connections()`, which
    ends the connections still open."""
    open_connections = set()

    async def close_connections():
        for task in list(open_connections):
            task.cancel()
        await asyncio.gather(*open_connections, return_exceptions=True)

    async def connection(reader, writer):
        open_connections.add(asyncio.current_task())
        try:
            while True:
                try:
                    request = await read_request(reader)
                except HttpError as exc:
                    writer.write(encode(exc.status, {"status": "refused", "code": "HTTP",
                                                     "detail": str(exc)}, False))
                    break
                if request is None:
                    break
                method, path, query, keep_alive, body = request
                status, answer = await handler(method, path, query, body)
                writer.write(encode(status, answer, keep_alive))
                if not keep_alive:
                    break
                await writer.drain()
            await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            open_connections.discard(asyncio.current_task())
            writer.close()

    server = await asyncio.start_server(connection, host, port, limit=MAX_HEAD, backlog=2048)
    return server, close_connections

"""HTTP transport of the MCP server: the guard in front of the SDK's streamable HTTP app (Host 421,
Origin 403, bearer token 401), the uvicorn thread serving it, and `--http` address parsing.

Owns the DNS-rebinding defence and loopback-only binding. Must never: bind beyond loopback without
a bearer token, let a request reach the MCP app before Host, Origin and token were checked, or
write to stdout (the listening address goes to stderr, through the caller).
"""

from __future__ import annotations

import hmac
import logging
import socket
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

log = logging.getLogger(__name__)

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
TOKEN_ENV = "SYMSCOPE_MCP_TOKEN"


def _split_host(value: str) -> tuple[str, int | None]:
    """'name:port' / '[v6]:port' / 'name' -> (lowercase name, port or None); ('', None) if malformed."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return "", None
        name, rest = value[1:end], value[end + 1 :]
        port_text = rest[1:] if rest.startswith(":") else ("" if not rest else None)
    else:
        name, _, port_text = value.partition(":")
        if ":" in port_text:
            return "", None
    if port_text is None:
        return "", None
    if port_text == "":
        return name, None
    if not port_text.isdigit():
        return "", None
    return name, int(port_text)


class HttpGuard:
    """ASGI middleware in front of the MCP app: Host (421), Origin (403), then bearer token (401).

    DNS rebinding: a browser page on evil.example resolved to 127.0.0.1 still sends
    `Host: evil.example` and its own `Origin`, so both are checked against loopback names (and
    the bind address) on our port. A request without Origin (every non-browser client) passes
    that check; the optional token then decides.
    """

    def __init__(
        self, app: Any, *, port: int, hosts: Iterable[str] = (), origins: Iterable[str] = (), token: str | None = None
    ) -> None:
        self.app = app
        self.port = port
        self.hosts = set(LOOPBACK_HOSTS) | {h.lower().strip("[]") for h in hosts}
        self.origins = {o.rstrip("/").lower() for o in origins}
        self._token = token.encode() if token else None

    def _host_ok(self, host: str | None) -> bool:
        if not host:
            return False
        name, port = _split_host(host)
        return name in self.hosts and port in (self.port, None if self.port == 80 else self.port)

    def _origin_ok(self, origin: str | None) -> bool:
        if origin is None:
            return True
        origin = origin.strip().rstrip("/").lower()
        if origin in self.origins:
            return True
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or parts.path or parts.query:
            return False
        try:
            name = (parts.hostname or "").lower()
        except ValueError:
            return False
        return name in LOOPBACK_HOSTS

    def _token_ok(self, authorization: str | None) -> bool:
        if self._token is None:
            return True
        if not authorization:
            return False
        scheme, _, value = authorization.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), self._token)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers: dict[str, str] = {}
        for key, value in scope.get("headers", []):
            name = key.decode("latin-1").lower()
            if name in ("host", "origin", "authorization") and name not in headers:
                headers[name] = value.decode("latin-1")
        if not self._host_ok(headers.get("host")):
            await _plain(send, 421, "Misdirected Request: unknown Host header\n")
            return
        if not self._origin_ok(headers.get("origin")):
            await _plain(send, 403, "Forbidden: cross-origin requests are not allowed\n")
            return
        if not self._token_ok(headers.get("authorization")):
            await _plain(send, 401, "Unauthorized: bearer token required\n", [(b"www-authenticate", b"Bearer")])
            return
        await self.app(scope, receive, send)


async def _plain(send, status: int, body: str, extra: list[tuple[bytes, bytes]] | None = None) -> None:
    data = body.encode()
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra or [])})
    await send({"type": "http.response.body", "body": data})


def http_app(
    server: MCPServer,
    *,
    port: int,
    host: str = "127.0.0.1",
    token: str | None = None,
    allowed_origins: Iterable[str] = (),
) -> Any:
    """The streamable HTTP app (endpoint /mcp) behind HttpGuard."""
    from mcp.server.transport_security import TransportSecuritySettings

    hosts = {host.lower().strip("[]")} | LOOPBACK_HOSTS
    # The SDK's own DNS-rebinding check stays on as a second layer, with the same rules.
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[f"{_bracket(h)}:{port}" for h in sorted(hosts)],
        allowed_origins=[o.rstrip("/") for o in allowed_origins]
        + [f"{scheme}://{_bracket(h)}:*" for h in sorted(LOOPBACK_HOSTS) for scheme in ("http", "https")]
        + [f"{scheme}://{_bracket(h)}" for h in sorted(LOOPBACK_HOSTS) for scheme in ("http", "https")],
    )
    app = server.streamable_http_app(transport_security=security, host=host)
    return HttpGuard(app, port=port, hosts=hosts, origins=allowed_origins, token=token)


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class HttpServerThread(threading.Thread):
    """uvicorn serving the guarded MCP app on an already-bound socket, in a daemon thread."""

    def __init__(self, app: Any, sock: socket.socket, host: str, port: int) -> None:
        super().__init__(name=f"symscope-mcp-http-{port}", daemon=True)
        import uvicorn

        self.host, self.port, self._sock = host, port, sock
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
        self.uvicorn = uvicorn.Server(config)
        self.error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"http://{_bracket(self.host)}:{self.port}/mcp"

    def run(self) -> None:
        try:
            self.uvicorn.run(sockets=[self._sock])
        except BaseException as exc:  # reported through .error and the log; the thread just ends
            self.error = exc
            log.exception("MCP HTTP server stopped")

    def stop(self, timeout: float = 5.0) -> None:
        self.uvicorn.should_exit = True
        self.join(timeout)


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.listen(128)
    sock.set_inheritable(False)
    return sock


def serve_http_in_thread(
    server: MCPServer,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    token: str | None = None,
    allowed_origins: Iterable[str] = (),
    ready_timeout: float = 10.0,
) -> HttpServerThread:
    """Serve `server` over streamable HTTP at http://host:port/mcp from a daemon thread; returns
    once it accepts connections (port 0 picks a free port: read `.port`). `.stop()` ends it."""
    if host.strip("[]") not in LOOPBACK_HOSTS and not token:
        raise ValueError(f"refusing to serve MCP on non-loopback address {host!r} without a bearer token")
    sock = bind_socket(host.strip("[]"), port)
    actual = sock.getsockname()[1]
    thread = HttpServerThread(
        http_app(server, port=actual, host=host.strip("[]"), token=token, allowed_origins=allowed_origins),
        sock,
        host.strip("[]"),
        actual,
    )
    thread.start()
    deadline = time.monotonic() + ready_timeout
    while not thread.uvicorn.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            thread.stop(1.0)
            raise RuntimeError(f"MCP HTTP server did not start on {host}:{actual}: {thread.error!r}")
        time.sleep(0.02)
    log.info("MCP server listening on %s", thread.url)
    return thread


def parse_http_address(text: str) -> tuple[str, int]:
    """'PORT', 'HOST:PORT' or '[V6]:PORT' -> (host, port); host defaults to 127.0.0.1."""
    text = text.strip()
    if text.isdigit():
        return "127.0.0.1", int(text)
    name, port = _split_host(text)
    if not name or port is None or not 0 <= port <= 65535:
        raise ValueError(f"--http expects PORT or HOST:PORT, got {text!r}")
    return name, port

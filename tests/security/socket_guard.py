"""A socket guard for the SSRF tests: every connect and every name lookup is recorded, and only the
(address, port) pairs a test allows go through; anything else fails before a packet is sent."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field
from typing import Any

import pytest


@dataclass
class SocketGuard:
    allowed: set[tuple[str, int]] = field(default_factory=set)
    # Every connect attempted, allowed or not, and the ones the guard stopped.
    attempts: list[tuple[str, int]] = field(default_factory=list)
    blocked: list[tuple[str, int]] = field(default_factory=list)
    # Host names (not IP literals) something tried to resolve.
    lookups: list[str] = field(default_factory=list)

    def allow(self, host: str, port: int) -> None:
        self.allowed.add((host, port))

    def check(self, address: Any) -> None:
        target = (str(address[0]), int(address[1])) if isinstance(address, tuple) else (str(address), 0)
        self.attempts.append(target)
        if target not in self.allowed:
            self.blocked.append(target)
            raise ConnectionRefusedError(f"socket guard: blocked a connect to {target[0]} port {target[1]}")


def _is_literal(host: object) -> bool:
    text = host.decode() if isinstance(host, bytes) else str(host)
    try:
        ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return False
    return True


def install_socket_guard(monkeypatch: pytest.MonkeyPatch) -> SocketGuard:
    """Patch socket connects and getaddrinfo for the rest of the test; returns the guard to inspect."""
    guard = SocketGuard()
    connect, connect_ex, getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo

    def guarded_connect(sock: socket.socket, address: Any) -> None:
        guard.check(address)
        connect(sock, address)

    def guarded_connect_ex(sock: socket.socket, address: Any) -> int:
        guard.check(address)
        return connect_ex(sock, address)

    def guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host is not None and not _is_literal(host):
            guard.lookups.append(str(host))
            raise socket.gaierror(socket.EAI_NONAME, "socket guard: no DNS in tests")
        return getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
    return guard

"""Sending one webhook attempt, safely: the target's addresses are resolved and checked (no
loopback, private, link-local or other non-public address unless the operator allows them
for tests), the connection goes to the address that was checked (no second lookup to
rebind), redirects are not followed, and time and response size are bounded. Signatures
follow Standard Webhooks (the `standardwebhooks` reference implementation signs)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
from standardwebhooks.webhooks import Webhook


class TargetRefusedError(Exception):
    """The URL's host is not a public address (or does not resolve)."""


def allowed_address(address: str, allow_private: bool) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_unspecified or ip.is_multicast:
        return False
    return allow_private or ip.is_global


class TargetPolicy:
    """Which URLs a webhook may reach. Checked at registration and before every attempt."""

    def __init__(self, allow_private: bool = False, cache_seconds: float = 30.0) -> None:
        self.allow_private = allow_private
        self.cache_seconds = cache_seconds
        # (host, port) -> (until, addresses already checked): a lookup per attempt would
        # queue every delivery behind the resolver's threads. The connection still goes to
        # a checked address, so a cached answer cannot be rebound elsewhere.
        self._resolved: dict[tuple[str, int], tuple[float, list[str]]] = {}

    def _check_scheme(self, url: str) -> tuple[str, int]:
        parts = urlsplit(url)
        if parts.scheme != "https" and not (parts.scheme == "http" and self.allow_private):
            raise TargetRefusedError("webhook URLs must use https")
        if not parts.hostname:
            raise TargetRefusedError("the URL has no host")
        return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)

    def _pick(self, host: str, infos: list[tuple[object, ...]]) -> list[str]:
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))  # type: ignore[index]
        refused = [a for a in addresses if not allowed_address(a, self.allow_private)]
        if not addresses or refused:
            # One bad address refuses the host: a name that also points inside is a probe.
            raise TargetRefusedError(f"{host} resolves to an address that is not public")
        return addresses

    def check(self, url: str) -> list[str]:
        """Synchronous (registration, in a thread): the addresses the URL may be sent to."""
        host, port = self._check_scheme(url)
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except OSError:
            raise TargetRefusedError(f"{host} does not resolve") from None
        return self._pick(host, list(infos))

    async def resolve(self, url: str) -> list[str]:
        host, port = self._check_scheme(url)
        cached = self._resolved.get((host, port))
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port,
                                                                 type=socket.SOCK_STREAM)
        except OSError:
            raise TargetRefusedError(f"{host} does not resolve") from None
        addresses = self._pick(host, list(infos))
        if len(self._resolved) > 10_000:
            self._resolved.clear()
        self._resolved[(host, port)] = (time.monotonic() + self.cache_seconds, addresses)
        return addresses


@dataclass(frozen=True)
class SendResult:
    status_code: int | None
    error: str
    response: str  # the start of the response body
    seconds: float

    @property
    def accepted(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def signature(secrets: list[str], message_id: str, timestamp: int, body: str) -> str:
    """`v1,<base64>` per signing secret, space-separated (several during a rotation)."""
    at = datetime.fromtimestamp(timestamp, UTC)
    return " ".join(Webhook(s).sign(message_id, at, body) for s in secrets)


class WebhookSender:
    def __init__(self, policy: TargetPolicy, timeout: float = 10.0,
                 max_response: int = 64 * 1024, excerpt: int = 1024) -> None:
        self.policy = policy
        self.timeout = timeout
        self.max_response = max_response
        self.excerpt = excerpt
        # No proxies from the environment, no redirects, no cookies kept between targets.
        self.client = httpx.AsyncClient(follow_redirects=False, trust_env=False,
                                        timeout=httpx.Timeout(timeout),
                                        limits=httpx.Limits(max_connections=200))

    async def send(self, url: str, message_id: str, body: str, secrets: list[str],
                   now: float | None = None) -> SendResult:
        started = time.perf_counter()
        timestamp = int(now if now is not None else time.time())
        try:
            addresses = await self.policy.resolve(url)
        except TargetRefusedError as refused:
            return SendResult(None, f"refused: {refused}", "", time.perf_counter() - started)
        parts = urlsplit(url)
        address = addresses[0]
        pinned = httpx.URL(url).copy_with(host=address)
        headers = {"host": parts.netloc, "content-type": "application/json",
                   "user-agent": "Consentry-Webhooks/1", "webhook-id": message_id,
                   "webhook-timestamp": str(timestamp),
                   "webhook-signature": signature(secrets, message_id, timestamp, body)}
        extensions = {"sni_hostname": parts.hostname or ""} if parts.scheme == "https" \
            else {}
        try:
            status, text = await asyncio.wait_for(
                self._post(pinned, headers, body, extensions), self.timeout)
        except TimeoutError:
            return SendResult(None, f"timed out after {self.timeout:.0f} s", "",
                              time.perf_counter() - started)
        except httpx.HTTPError as error:
            return SendResult(None, f"{type(error).__name__}: {error}"[:300], "",
                              time.perf_counter() - started)
        problem = "" if 200 <= status < 300 else f"HTTP {status}"
        return SendResult(status, problem, text, time.perf_counter() - started)

    async def _post(self, url: httpx.URL, headers: dict[str, str], body: str,
                    extensions: dict[str, str]) -> tuple[int, str]:
        request = self.client.build_request("POST", url, headers=headers,
                                            content=body.encode(), extensions=extensions)
        response = await self.client.send(request, stream=True)
        try:
            received = b""
            async for chunk in response.aiter_raw():
                received += chunk
                if len(received) >= self.max_response:
                    break  # enough to know; the rest is not read
            return response.status_code, received[:self.excerpt].decode("utf-8", "replace")
        finally:
            await response.aclose()

    async def close(self) -> None:
        await self.client.aclose()

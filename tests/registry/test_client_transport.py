"""The registry client's default transport: TLS is set up only when an https request needs it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from layerscope.registry import transport as transport_module
from layerscope.registry.client import RegistryClient


def test_tls_transport_is_made_on_the_first_https_request_only(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[bool] = []  # the `verify` of every HTTPTransport made
    seen: list[tuple[bool, str]] = []

    class Spy(httpx.HTTPTransport):
        def __init__(self, **options: Any) -> None:
            made.append(bool(options.get("verify", True)))
            self._verify = made[-1]

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            seen.append((self._verify, request.url.scheme))
            return httpx.Response(200, request=request)

        def close(self) -> None:
            pass

    monkeypatch.setattr(transport_module.httpx, "HTTPTransport", Spy)
    transport = transport_module._DeferredTLSTransport(limits=httpx.Limits())
    assert made == [False]  # the plain-http half only: no CA bundle loaded yet
    transport.handle_request(httpx.Request("GET", "http://127.0.0.1:5000/v2/"))
    assert made == [False]
    transport.handle_request(httpx.Request("GET", "https://registry.example/v2/"))
    transport.handle_request(httpx.Request("GET", "https://registry.example/v2/"))
    assert made == [False, True]  # made once, verifying certificates (httpx's default)
    assert seen == [(False, "http"), (True, "https"), (True, "https")]
    transport.close()


def test_client_uses_the_deferred_transport_unless_one_is_injected() -> None:
    with RegistryClient() as client:
        assert isinstance(client._transport._http._transport, transport_module._DeferredTLSTransport)
    injected = httpx.MockTransport(lambda request: httpx.Response(404))
    with RegistryClient(transport=injected) as client:
        assert client._transport._http._transport is injected

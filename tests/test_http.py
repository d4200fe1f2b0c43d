"""The one HTTP client: broken links become one sentence, and a slow link pays no spare header."""

from __future__ import annotations

import httpx
import pytest

from lowband import http


def client(handler: httpx.MockTransport) -> http.Client:
    return http.make_client(handler)


async def test_a_refused_connection_is_one_sentence_naming_the_relay() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with client(httpx.MockTransport(refuse)) as c:
        with pytest.raises(http.LinkError) as caught:
            await http.get(c, "http://relay.test/v1/meetings/pp26", shown="http://relay.test")
    assert str(caught.value) == "Could not reach http://relay.test: connection refused."
    assert not isinstance(caught.value, http.Stalled)


async def test_silence_past_the_read_deadline_is_a_stall() -> None:
    def silent(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    async with client(httpx.MockTransport(silent)) as c:
        with pytest.raises(http.Stalled, match="the link stalled"):
            async with http.stream(c, "POST", "http://relay.test/v1/sync", content=b"x"):
                pass


async def test_a_break_while_the_body_streams_is_a_link_error_too() -> None:
    class Breaks(httpx.AsyncByteStream):
        async def __aiter__(self):  # type: ignore[no-untyped-def]
            yield b"first"
            raise httpx.RemoteProtocolError("peer closed connection")

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=Breaks())

    got = b""
    async with client(httpx.MockTransport(answer)) as c:
        with pytest.raises(http.LinkError, match="peer closed connection"):
            async with http.stream(c, "GET", "http://relay.test/v1/blobs/ab") as resp:
                async for chunk in resp.aiter_raw():
                    got += chunk
    assert got == b"first"


async def test_dropped_headers_do_not_travel_and_error_bodies_are_cut() -> None:
    seen: list[httpx.Headers] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers)
        return httpx.Response(403, text="Refused. " * 1000)

    async with client(httpx.MockTransport(answer)) as c:
        async with http.stream(
            c, "GET", "http://relay.test/x", headers={"x-a": "1"}, drop_headers=("user-agent",)
        ) as resp:
            text = await http.body_text(resp, limit=20)
    assert "user-agent" not in seen[0] and seen[0]["x-a"] == "1"
    assert text == "Refused. Refused. Re"


def test_an_unreadable_ca_bundle_is_one_sentence() -> None:
    with pytest.raises(http.LinkError, match="is not a readable certificate bundle"):
        http.make_client(verify="/nonexistent/ca.pem")

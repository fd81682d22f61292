"""Home Assistant's WebSocket API: commands with results, and event subscriptions as queues."""

import asyncio
from collections.abc import AsyncIterator
import contextlib
import itertools
from typing import Any, Self

import aiohttp

from e2e.ha_rest import ApiError, Json


class CommandError(ApiError):
    """Home Assistant answered a command with an error (code, message, translation key)."""

    def __init__(self, command: str, error: Json) -> None:
        """Keep the error as Home Assistant sent it."""
        super().__init__(f"{command} failed: {error}")
        self.error = error


class HomeAssistantWebSocket:
    """One authenticated WebSocket connection; a reader task routes messages by id."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Use connect() to make one."""
        self._ws = ws
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Json]] = {}
        self._subscriptions: dict[int, asyncio.Queue[Json]] = {}
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, session: aiohttp.ClientSession, base_url: str, token: str) -> Self:
        """Open /api/websocket and authenticate with token."""
        ws = await session.ws_connect(f"{base_url.rstrip('/')}/api/websocket", heartbeat=30)
        hello = await ws.receive_json(timeout=30)
        if hello.get("type") != "auth_required":
            msg = f"unexpected WebSocket greeting: {hello}"
            raise ApiError(msg)
        await ws.send_json({"type": "auth", "access_token": token})
        answer = await ws.receive_json(timeout=30)
        if answer.get("type") != "auth_ok":
            msg = f"WebSocket authentication failed: {answer}"
            raise ApiError(msg)
        return cls(ws)

    async def _read(self) -> None:
        """Deliver results to their callers and events to their subscription queues."""
        async for message in self._ws:
            if message.type is not aiohttp.WSMsgType.TEXT:
                break
            data = message.json()
            for item in data if isinstance(data, list) else [data]:
                self._dispatch(item)
        error = ApiError("the WebSocket connection closed")
        for future in self._pending.values():
            if not future.done():
                future.set_exception(error)

    def _dispatch(self, item: Json) -> None:
        """Route one message."""
        msg_id = item.get("id")
        if item.get("type") == "event" and msg_id in self._subscriptions:
            self._subscriptions[msg_id].put_nowait(item["event"])
        elif msg_id in self._pending:
            future = self._pending.pop(msg_id)
            if not future.done():
                future.set_result(item)

    async def call(self, command: str, timeout_s: float = 60, **fields: Any) -> Any:  # noqa: ANN401
        """Send a command and return its result; ApiError carries Home Assistant's error."""
        msg_id = next(self._ids)
        future: asyncio.Future[Json] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = future
        await self._ws.send_json({"id": msg_id, "type": command, **fields})
        try:
            answer = await asyncio.wait_for(future, timeout_s)
        except TimeoutError:
            msg = f"no answer to {command} within {timeout_s} s"
            raise ApiError(msg) from None
        if not answer.get("success"):
            raise CommandError(command, answer.get("error") or {})
        return answer.get("result")

    async def subscribe(self, command: str, **fields: Any) -> asyncio.Queue[Json]:  # noqa: ANN401
        """Subscribe (e.g. subscribe_events) and return the queue its events arrive in."""
        msg_id = next(self._ids)
        queue: asyncio.Queue[Json] = asyncio.Queue()
        self._subscriptions[msg_id] = queue
        future: asyncio.Future[Json] = asyncio.get_running_loop().create_future()
        self._pending[msg_id] = future
        await self._ws.send_json({"id": msg_id, "type": command, **fields})
        answer = await asyncio.wait_for(future, 30)
        if not answer.get("success"):
            msg = f"{command} failed: {answer.get('error')}"
            raise ApiError(msg)
        return queue

    async def close(self) -> None:
        """Close the connection and stop the reader."""
        await self._ws.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


@contextlib.asynccontextmanager
async def websocket(
    session: aiohttp.ClientSession, base_url: str, token: str
) -> AsyncIterator[HomeAssistantWebSocket]:
    """Open an authenticated connection, closed on exit."""
    ws = await HomeAssistantWebSocket.connect(session, base_url, token)
    try:
        yield ws
    finally:
        await ws.close()

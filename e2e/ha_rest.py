"""Home Assistant's HTTP API as a user's browser meets it: onboarding, login, REST calls."""

import asyncio
from collections.abc import Callable
import time
from typing import Any

import aiohttp

type Json = dict[str, Any]


class ApiError(RuntimeError):
    """Home Assistant answered a request with something other than what was expected."""


class HomeAssistantRest:
    """REST client of one Home Assistant; authenticates like the frontend does."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        """Talk to base_url (e.g. http://127.0.0.1:8123) over session."""
        self.session = session
        self.base_url = base_url.rstrip("/")
        # Home Assistant's IndieAuth: the client id is the URL the client is served from.
        self.client_id = f"{self.base_url}/"
        self.token: str | None = None

    async def wait_until_up(
        self, timeout_s: float, *, alive: Callable[[], None] | None = None
    ) -> None:
        """Poll until the HTTP server answers; alive() may raise if the server process died."""
        deadline = time.monotonic() + timeout_s
        last_error = "no answer"
        while time.monotonic() < deadline:
            if alive is not None:
                alive()
            try:
                # Any answer will do: before onboarding it is 400 "onboarding_required".
                async with self.session.get(f"{self.base_url}/auth/providers") as response:
                    if response.status < 500:
                        return
                    last_error = f"HTTP {response.status}"
            except aiohttp.ClientError as err:
                last_error = repr(err)
            await asyncio.sleep(0.5)
        msg = f"Home Assistant did not answer on {self.base_url} within {timeout_s} s: {last_error}"
        raise ApiError(msg)

    async def onboarding_pending(self) -> bool:
        """Whether the owner account still has to be created."""
        async with self.session.get(f"{self.base_url}/api/onboarding") as response:
            if response.status == 404:
                return False  # Onboarding finished: its views are no longer registered.
            steps = await self._json(response, "GET /api/onboarding")
        return any(step["step"] == "user" and not step["done"] for step in steps)

    async def onboard(self, name: str, username: str, password: str) -> None:
        """Create the owner and finish every onboarding step, as the onboarding wizard does."""
        async with self.session.post(
            f"{self.base_url}/api/onboarding/users",
            json={
                "client_id": self.client_id,
                "name": name,
                "username": username,
                "password": password,
                "language": "en",
            },
        ) as response:
            code = (await self._json(response, "onboarding: create user"))["auth_code"]
        await self._exchange_code(code)
        for step in ("core_config", "analytics"):
            await self.post(f"/api/onboarding/{step}", {})
        await self.post(
            "/api/onboarding/integration",
            {"client_id": self.client_id, "redirect_uri": f"{self.client_id}?auth_callback=1"},
        )

    async def login(self, username: str, password: str) -> None:
        """Log in with the login flow of the Home Assistant auth provider."""
        async with self.session.post(
            f"{self.base_url}/auth/login_flow",
            json={
                "client_id": self.client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": f"{self.client_id}?auth_callback=1",
            },
        ) as response:
            flow = await self._json(response, "start the login flow")
        async with self.session.post(
            f"{self.base_url}/auth/login_flow/{flow['flow_id']}",
            json={"client_id": self.client_id, "username": username, "password": password},
        ) as response:
            result = await self._json(response, "log in")
        if result.get("type") != "create_entry":
            msg = f"login as {username!r} failed: {result.get('errors')}"
            raise ApiError(msg)
        await self._exchange_code(result["result"])

    async def _exchange_code(self, code: str) -> None:
        """Trade an authorization code for an access token."""
        async with self.session.post(
            f"{self.base_url}/auth/token",
            data={"grant_type": "authorization_code", "code": code, "client_id": self.client_id},
        ) as response:
            self.token = (await self._json(response, "fetch a token"))["access_token"]

    def _headers(self) -> dict[str, str]:
        """Return the bearer header of the current token."""
        if self.token is None:
            msg = "not logged in"
            raise ApiError(msg)
        return {"Authorization": f"Bearer {self.token}"}

    async def get(self, path: str) -> Any:  # noqa: ANN401 - JSON of any shape
        """GET a JSON resource."""
        async with self.session.get(f"{self.base_url}{path}", headers=self._headers()) as response:
            return await self._json(response, f"GET {path}")

    async def post(self, path: str, payload: Json) -> Any:  # noqa: ANN401 - JSON of any shape
        """POST JSON, return the JSON answer."""
        async with self.session.post(
            f"{self.base_url}{path}", json=payload, headers=self._headers()
        ) as response:
            return await self._json(response, f"POST {path}")

    async def get_bytes(self, path_or_url: str) -> tuple[int, str, bytes]:
        """GET raw bytes (with the token unless the URL is signed): status, type and body."""
        url = path_or_url if "://" in path_or_url else f"{self.base_url}{path_or_url}"
        headers = {} if "authSig=" in url else self._headers()
        async with self.session.get(url, headers=headers) as response:
            return response.status, response.content_type, await response.read()

    @staticmethod
    async def _json(response: aiohttp.ClientResponse, what: str) -> Any:  # noqa: ANN401
        """Return the JSON body of a successful response, else raise ApiError with it."""
        if response.status >= 400:
            body = (await response.text())[:500]
            msg = f"{what}: HTTP {response.status}: {body}"
            raise ApiError(msg)
        return await response.json()

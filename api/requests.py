"""The request class of the app: bodies decoded with a bound on their nesting, so a hostile
body is refused as bad input instead of failing the decoder."""

from __future__ import annotations

from typing import Any

from litestar import Request

from domain.errors import BodyTooDeepError

# JSON bodies (requests only; uploads are raw bytes and carry their own per-route limit).
MAX_BODY_BYTES = 1024 * 1024


class BoundedRequest(Request[Any, Any, Any]):
    async def json(self) -> Any:
        try:
            return await super().json()
        except RecursionError:  # msgspec's decoder stops at its nesting limit
            raise BodyTooDeepError("the JSON body is nested too deeply") from None

"""OpenAI-format text endpoints (temporary smoke module; replaced by the OpenAI family)."""

from __future__ import annotations

from starlette.responses import Response

from mockserver.pipeline import Call, Endpoint


async def models_list(call: Call) -> Response:
    return call.json(
        {
            "object": "list",
            "success": True,
            "data": [{"id": "gpt-4o", "object": "model", "created": 1626777600, "owned_by": "openai"}],
        }
    )


ROUTES = [Endpoint("models_list", models_list)]

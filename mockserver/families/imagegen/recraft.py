"""Recraft's synchronous API under `/recraft/v1/images/*`: generate, vectorize, remove background, upscale.

Answers use Recraft's own envelopes: `{created, credits, data[{image_id, url | b64_json}]}` for
generation and `{created, credits, image{...}}` for the operations on an uploaded picture. Results
are drawn from the upload (an SVG traced from it, a cut-out with a transparent background, a larger
copy), with links the emulator serves. Credits follow Recraft's unit prices.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from mockserver import media
from mockserver.content import images as pictures
from mockserver.content import svg
from mockserver.content.derived import UploadedImage, thumbnail_token
from mockserver.errors import ApiError
from mockserver.families.shared.image_models import RECRAFT_SIZES, parse_size
from mockserver.families.shared.uploads import Upload, decode_image, require_file
from mockserver.models import Model, ensure_model
from mockserver.pipeline import Call, Endpoint

MODELS = [Model("recraftv2", "recraft", ("image-generation",))]

VECTOR_STYLES = ("vector_illustration", "icon")
MAX_PROMPT_BYTES = 1000
MAX_SIDE = 4096
CREDITS = {"raster": 40, "vector": 80, "vectorize": 10, "removeBackground": 10, "clarity": 4, "generative": 250}


def _image_id(seed: str) -> str:
    return str(uuid.UUID(bytes=hashlib.blake2b(seed.encode(), digest_size=16).digest(), version=4))


def _item(call: Call, recipe: dict[str, Any], *, kind: str, as_b64: bool, seed: str) -> dict[str, Any]:
    """`{image_id, url}` or `{image_id, b64_json}` for an image or svg recipe."""
    item: dict[str, Any] = {"image_id": _image_id(seed)}
    if as_b64:
        data, _ = media.render(kind, recipe)
        item["b64_json"] = base64.b64encode(data).decode()
    elif kind == "svg":
        item["url"] = svg.svg_url(call.settings.base_url, recipe)
    else:
        item["url"] = pictures.recipe_url(call.settings.base_url, recipe)
    return item


def _as_b64(body: dict[str, Any]) -> bool:
    return body.get("response_format") == "b64_json"


async def generate(call: Call) -> Response:
    body: dict[str, Any] = call.body
    prompt = str(body["prompt"])
    if len(prompt.encode()) > MAX_PROMPT_BYTES:
        raise ApiError(400, f"prompt is longer than {MAX_PROMPT_BYTES} bytes", param="prompt", code="prompt_too_long")
    model = str(body.get("model") or "recraftv3")
    ensure_model(call, model)
    if body.get("style") is not None and body.get("style_id") is not None:
        raise ApiError(400, "style and style_id cannot be used together", param="style_id")
    size = str(body.get("size") or "1024x1024")
    width, height = parse_size(size)
    if f"{width}x{height}" not in RECRAFT_SIZES:
        raise ApiError(
            400,
            f"size '{size}' is not supported; use one of {', '.join(RECRAFT_SIZES)}",
            param="size",
            code="size_not_supported",
        )
    n = int(body.get("n") or 1)
    vector = body.get("style") in VECTOR_STYLES
    fmt = str(body.get("image_format") or "png")
    user_seed = body.get("random_seed")
    seeds = [
        f"recraft|{user_seed}|{prompt}|{i}" if user_seed is not None else f"{call.rng.getrandbits(64):016x}"
        for i in range(n)
    ]

    def render_all() -> list[dict[str, Any]]:
        items = []
        for seed in seeds:
            if vector:
                recipe = svg.svg_recipe(width, height, seed=seed)
                items.append(_item(call, recipe, kind="svg", as_b64=_as_b64(body), seed=seed))
            else:
                recipe = pictures.image_recipe(width, height, seed=seed, fmt=fmt)
                items.append(_item(call, recipe, kind="image", as_b64=_as_b64(body), seed=seed))
        return items

    data = await run_in_threadpool(render_all)
    credits = n * CREDITS["vector" if vector else "raster"]
    return call.json({"created": int(call.now), "credits": credits, "data": data})


async def _source(call: Call) -> tuple[Upload, UploadedImage]:
    upload = await require_file(call, "file", "image")
    image = await decode_image(upload)
    if max(image.width, image.height) > MAX_SIDE:
        raise ApiError(
            400, f"the image is {image.width}x{image.height}; sides must be at most {MAX_SIDE}", param=upload.field
        )
    return upload, image


def _seed_of(upload: Upload, operation: str) -> str:
    return f"recraft-{operation}|" + hashlib.blake2b(upload.data, digest_size=8).hexdigest()


async def _processed(call: Call, *, operation: str, scale: float = 1.0, cutout: bool = False) -> Response:
    upload, image = await _source(call)
    body: dict[str, Any] = call.body
    longest = max(image.width, image.height)
    if scale > 1 and longest >= MAX_SIDE:
        raise ApiError(400, f"the image is already {longest} pixels on its longer side", param=upload.field)
    factor = min(scale, MAX_SIDE / longest) if scale > 1 else 1.0
    width, height = max(1, round(image.width * factor)), max(1, round(image.height * factor))
    seed = _seed_of(upload, operation)
    fmt = str(body.get("image_format") or "png")

    def render() -> dict[str, Any]:
        token = thumbnail_token(image.image)
        if operation == "vectorize":
            recipe = svg.svg_recipe(width, height, seed=seed, source=token)
            return _item(call, recipe, kind="svg", as_b64=_as_b64(body), seed=seed)
        mode = "cutout" if cutout else "upscale"
        recipe = pictures.image_recipe(width, height, seed=seed, fmt=fmt, alpha=cutout, source=token, mode=mode)
        return _item(call, recipe, kind="image", as_b64=_as_b64(body), seed=seed)

    item = await run_in_threadpool(render)
    return call.json({"created": int(call.now), "credits": CREDITS[operation], "image": item})


async def vectorize(call: Call) -> Response:
    return await _processed(call, operation="vectorize")


async def remove_background(call: Call) -> Response:
    return await _processed(call, operation="removeBackground", cutout=True)


async def clarity_upscale(call: Call) -> Response:
    return await _processed(call, operation="clarity", scale=4.0)


async def generative_upscale(call: Call) -> Response:
    return await _processed(call, operation="generative", scale=2.0)


ROUTES = [
    Endpoint("recraft_generate_image", generate),
    Endpoint("recraft_vectorize", vectorize),
    Endpoint("recraft_remove_background", remove_background),
    Endpoint("recraft_clarity_upscale", clarity_upscale),
    Endpoint("recraft_generative_upscale", generative_upscale),
]

"""OpenAI-format images: `/v1/images/generations` and `/v1/images/edits` for every documented model.

Each picture is a media recipe (`content.images`): a URL the emulator serves, or its bytes inline as
`b64_json` (both through the media cache, so the two agree byte for byte). The per-model rules —
sizes, counts, qualities, styles — live in `_image_models`; the extras some models add to the
envelope (gpt-image usage and output settings, seedream's model and image count, recraftv3's
metadata) are added here.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import io
import uuid
from collections.abc import Iterator
from typing import Any

from PIL import Image
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from mockserver import media
from mockserver.content import images as pictures
from mockserver.content import svg
from mockserver.content.derived import UploadedImage, thumbnail_token
from mockserver.content.text import count_tokens
from mockserver.errors import ApiError
from mockserver.families.shared import image_models as rules_of
from mockserver.families.shared.image_models import ImageModel, image_model
from mockserver.families.shared.uploads import decode_image, read_files
from mockserver.models import Model, ensure_model
from mockserver.pipeline import Call, Endpoint

MODELS = [Model(m, image_model(m).owned_by, ("image-generation",)) for m in rules_of.DOCUMENTED_MODELS]

VECTOR_STYLES = ("vector_illustration", "icon")
MAX_EDIT_IMAGES = 16


@dataclasses.dataclass
class Output:
    """What each picture of one answer looks like: size, format, alpha, quality, how it is returned."""

    width: int
    height: int
    fmt: str = dataclasses.field(default="png", kw_only=True)
    alpha: bool = dataclasses.field(default=False, kw_only=True)
    compression: int | None = dataclasses.field(default=None, kw_only=True)

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"


def _seeds(call: Call, n: int, prompt: str) -> list[str]:
    """One seed per picture: from the request's `seed` when given (same seed, same picture), else the call RNG."""
    user_seed = call.body.get("seed") if isinstance(call.body, dict) else None
    if isinstance(user_seed, int) and user_seed >= 0:
        return [f"{user_seed}|{prompt}|{i}" for i in range(n)]
    return [f"{call.rng.getrandbits(64):016x}" for _ in range(n)]


def _gpt_image_output(call: Call, model: str, width: int, height: int) -> Output:
    body = call.body
    fmt = str(body.get("output_format") or "png")
    background = str(body.get("background") or "auto")
    if background == "transparent" and fmt == "jpeg":
        raise ApiError(
            400,
            "background 'transparent' needs output_format 'png' or 'webp' (jpeg has no alpha channel)",
            param="background",
            code="invalid_value",
        )
    compression = body.get("output_compression") if fmt != "png" else None
    return Output(width, height, fmt=fmt, alpha=background == "transparent", compression=compression)


def _picture(call: Call, out: Output, seed: str, *, as_b64: bool, source: str | None, vector: bool) -> dict[str, Any]:
    """One `data[]` item: a URL the emulator serves, or the bytes inline."""
    base = call.settings.base_url
    if vector:
        recipe = svg.svg_recipe(out.width, out.height, seed=seed, source=source)
        if as_b64:
            data, _ = media.render("svg", recipe)
            return {"b64_json": base64.b64encode(data).decode()}
        return {"url": svg.svg_url(base, recipe)}
    recipe = pictures.image_recipe(
        out.width,
        out.height,
        seed=seed,
        fmt=out.fmt,
        alpha=out.alpha,
        quality=out.compression,
        source=source,
        mode="edit" if source else None,
    )
    if as_b64:
        data, _ = media.render("image", recipe)
        return {"b64_json": base64.b64encode(data).decode()}
    return {"url": pictures.recipe_url(base, recipe)}


def _revised(prompt: str, style: str | None) -> str:
    mood = "vivid, dramatic" if (style or "vivid") == "vivid" else "natural, understated"
    return f"{prompt.strip().rstrip('.')}. The scene is rendered in a {mood} style with a balanced composition."


def _seed_number(seed: str) -> int:
    return int.from_bytes(hashlib.blake2b(seed.encode(), digest_size=4).digest(), "big") >> 1


def _uuid(seed: str) -> str:
    return str(uuid.UUID(bytes=hashlib.blake2b(seed.encode(), digest_size=16).digest(), version=4))


async def _answer(
    call: Call,
    *,
    model: str,
    rules: ImageModel,
    prompt: str,
    out: Output,
    n: int,
    source: UploadedImage | None = None,
    input_images: list[UploadedImage] | None = None,
) -> Response:
    body = call.body
    response_format = str(body.get("response_format") or rules.default_format)
    style = body.get("style")
    vector = rules.name == "recraft" and style in VECTOR_STYLES
    seeds = _seeds(call, n, prompt)
    streaming = rules.gpt_image and body.get("stream") is True
    as_b64 = response_format == "b64_json" or streaming

    def render_all() -> list[dict[str, Any]]:
        token = thumbnail_token(source.image) if source else None
        return [_picture(call, out, seed, as_b64=as_b64, source=token, vector=vector) for seed in seeds]

    data = await run_in_threadpool(render_all)
    if rules.revises_prompt:
        for item in data:
            item["revised_prompt"] = _revised(prompt, style)
    payload: dict[str, Any] = {"created": int(call.now), "data": data}
    if rules.gpt_image:
        payload.update(_gpt_image_extras(body, prompt, out, n, input_images or []))
    elif rules.name == "seedream":
        payload.update(model=model, usage={"generated_images": n})
    elif rules.name == "recraft":
        payload.update(_recraft_extras(model, out, seeds, data, style=style, vector=vector))
    if streaming:
        return call.sse(_stream_events(call, payload, edit=input_images is not None))
    return call.json(payload)


def _gpt_image_extras(
    body: dict[str, Any], prompt: str, out: Output, n: int, inputs: list[UploadedImage]
) -> dict[str, Any]:
    """What gpt-image answers add: the output settings it used and token usage."""
    quality = str(body.get("quality") or "auto")
    quality = "medium" if quality in ("auto", "standard") else quality
    text_tokens = count_tokens(prompt)
    image_tokens = sum(rules_of.input_image_tokens(i.width, i.height) for i in inputs)
    output_tokens = n * rules_of.gpt_image_output_tokens(quality, out.width, out.height)
    return {
        "background": "transparent" if out.alpha else "opaque",
        "output_format": out.fmt,
        "quality": quality,
        "size": out.size,
        "usage": {
            "input_tokens": text_tokens + image_tokens,
            "input_tokens_details": {"text_tokens": text_tokens, "image_tokens": image_tokens},
            "output_tokens": output_tokens,
            "total_tokens": text_tokens + image_tokens + output_tokens,
        },
    }


def _recraft_extras(
    model: str, out: Output, seeds: list[str], data: list[dict[str, Any]], *, style: Any, vector: bool
) -> dict[str, Any]:
    """What recraftv3 answers add in the DALL·E format: the URLs again and Recraft's metadata."""
    return {
        "image": [item["url"] for item in data if "url" in item],
        "metadata": {
            "credits": len(seeds) * (2 if vector else 1),
            "width": out.width,
            "height": out.height,
            "images": [
                {
                    "image_id": _uuid(seed),
                    "image_invariants": {"preset": str(style or "any")},
                    "transparent": False,
                    "vector_image": vector,
                }
                for seed in seeds
            ],
            "random_seed": _seed_number(seeds[0]),
            "request_id": _uuid("request|" + seeds[0]),
            "transform_model": model,
        },
    }


# ---------------------------------------------------------------------------------------------
# Streaming (gpt-image): partial pictures, then the finished one


def _blurred(b64: str, fmt: str, step: int) -> str:
    image = Image.open(io.BytesIO(base64.b64decode(b64)))
    factor = 2 ** (4 - step)
    small = image.resize((max(1, image.width // factor), max(1, image.height // factor)))
    out = small.resize(image.size)
    return base64.b64encode(pictures.encode(out, fmt)).decode()


def _stream_events(call: Call, payload: dict[str, Any], *, edit: bool) -> Iterator[tuple[str, dict[str, Any]]]:
    prefix = "image_edit" if edit else "image_generation"
    partials = int(call.body.get("partial_images") or 0)
    common = {
        "created_at": payload["created"],
        "size": payload["size"],
        "quality": payload["quality"],
        "background": payload["background"],
        "output_format": payload["output_format"],
    }
    for item in payload["data"]:
        b64 = item["b64_json"]
        for step in range(partials):
            partial = _blurred(b64, payload["output_format"], step)
            event = {"type": f"{prefix}.partial_image", "b64_json": partial, "partial_image_index": step, **common}
            yield f"{prefix}.partial_image", event
        done = {"type": f"{prefix}.completed", "b64_json": b64, **common, "usage": payload["usage"]}
        yield f"{prefix}.completed", done


# ---------------------------------------------------------------------------------------------
# Handlers


def _checked(call: Call) -> tuple[str, ImageModel, str, int]:
    """The model, its rules, the prompt and `n` of an images request, each checked against the model."""
    body = call.body
    model = str(body.get("model") or "dall-e-2")
    ensure_model(call, model)
    rules = image_model(model)
    prompt = str(body["prompt"])
    rules_of.check_prompt(rules, model, prompt)
    n = int(body.get("n") or 1)
    rules_of.check_n(rules, model, n)
    rules_of.check_choice(rules.qualities, body.get("quality"), model, "quality")
    if body.get("stream") is True and not rules.gpt_image:
        raise ApiError(400, f"stream is only supported by gpt-image models, not {model}", param="stream")
    return model, rules, prompt, n


async def generations(call: Call) -> Response:
    body = call.body
    model, rules, prompt, n = _checked(call)
    rules_of.check_choice(rules.styles, body.get("style"), model, "style")
    width, height = rules_of.check_size(rules, model, body.get("size"), body.get("aspect_ratio"))
    out = _gpt_image_output(call, model, width, height) if rules.gpt_image else Output(width, height)
    return await _answer(call, model=model, rules=rules, prompt=prompt, out=out, n=n)


async def edits(call: Call) -> Response:
    body = call.body
    model, rules, prompt, n = _checked(call)
    inputs = await _input_images(call, rules, model)
    first = inputs[0]
    await _check_mask(call, rules, first)
    size = body.get("size")
    if size and size != "auto":
        width, height = rules_of.check_size(rules, model, str(size))
    elif rules.gpt_image:
        width, height = rules_of.closest_standard_size(first.width, first.height)
    elif rules.name == "dall-e-2":
        width, height = rules_of.check_size(rules, model, None)
    else:
        scale = min(1.0, 4096 / max(first.width, first.height))
        width, height = max(1, round(first.width * scale)), max(1, round(first.height * scale))
    out = _gpt_image_output(call, model, width, height) if rules.gpt_image else Output(width, height)
    return await _answer(call, model=model, rules=rules, prompt=prompt, out=out, n=n, source=first, input_images=inputs)


async def _input_images(call: Call, rules: ImageModel, model: str) -> list[UploadedImage]:
    uploads = await read_files(call, "image", "image[]")
    if not uploads:
        given = "image" in call.body or "image[]" in call.body
        detail = "must be a file upload, not a text field" if given else "is required: upload it as a multipart file"
        raise ApiError(400, f"'image' {detail}", param="image")
    limit = MAX_EDIT_IMAGES if rules.gpt_image or rules.name == "image" else 1
    if len(uploads) > limit:
        raise ApiError(400, f"{model} takes at most {limit} input image(s); got {len(uploads)}", param="image")
    formats = ("png",) if rules.name == "dall-e-2" else ("png", "jpeg", "webp")
    decoded = [await decode_image(u, formats=formats) for u in uploads]
    if rules.name == "dall-e-2" and decoded[0].width != decoded[0].height:
        raise ApiError(400, "dall-e-2 edits need a square image", param="image")
    return decoded


async def _check_mask(call: Call, rules: ImageModel, first: UploadedImage) -> None:
    masks = await read_files(call, "mask")
    if not masks:
        if "mask" in call.body:
            raise ApiError(400, "'mask' must be a file upload, not a text field", param="mask")
        return
    mask = await decode_image(masks[0], formats=("png",))
    if not mask.has_alpha:
        raise ApiError(400, "Invalid mask image format - mask image missing alpha channel", param="mask")
    if mask.size != first.size:
        raise ApiError(
            400,
            f"mask size {mask.width}x{mask.height} does not match the image size {first.width}x{first.height}",
            param="mask",
        )


ROUTES = [
    Endpoint("images_generations", generations),
    Endpoint("images_edits", edits),
]

"""POST /v1/images/generations and /edits: real pictures of the requested size and format, per model."""

from __future__ import annotations

import base64
import io
import xml.etree.ElementTree as ET

import httpx
import openai
import pytest
from PIL import Image, ImageChops, ImageStat
from starlette.testclient import TestClient

from mockserver.content.images import render_image
from mockserver.testing import ThreadedServer
from tests.media.media_helpers import fetch, open_picture


def picture(http: httpx.Client, item: object) -> Image.Image:
    b64 = getattr(item, "b64_json", None)
    if b64:
        return open_picture(base64.b64decode(b64))
    url = getattr(item, "url", None)
    assert url
    return open_picture(fetch(http, url).content)


@pytest.mark.parametrize(
    ("kwargs", "size"),
    [
        ({"model": "dall-e-3", "size": "1792x1024", "quality": "hd", "style": "natural"}, (1792, 1024)),
        ({"model": "dall-e-2", "size": "256x256", "n": 3}, (256, 256)),
        ({"model": "qwen-image", "size": "640x480"}, (640, 480)),
        ({"model": "imagen4", "extra_body": {"aspect_ratio": "9:16"}}, (768, 1408)),
        ({"model": "doubao-seedream-3-0-t2i-250415", "size": "864x1152", "extra_body": {"seed": 12}}, (864, 1152)),
        ({"model": "seedream-3.0", "size": "512x512"}, (512, 512)),
        ({"model": "recraftv3", "size": "1280x1024", "style": "realistic_image"}, (1280, 1024)),
        ({"model": "flux-pro", "size": "512x768", "n": 2}, (512, 768)),
        ({"model": "flux-dev", "extra_body": {"aspect_ratio": "16:9"}}, (1376, 768)),
    ],
)
def test_each_model_answers_real_pictures_of_the_requested_size(
    oai: openai.OpenAI, http: httpx.Client, media_live: ThreadedServer, kwargs: dict[str, object], size: tuple[int, int]
) -> None:
    result = oai.images.generate(prompt="a lighthouse at dusk", **kwargs)  # type: ignore[arg-type]
    assert len(result.data or []) == kwargs.get("n", 1)
    for item in result.data or []:
        assert item.url and item.url.startswith(media_live.url + "/__mock/media/image/"), "served by the emulator"
        image = picture(http, item)
        assert image.format == "PNG"
        assert image.size == size


def test_dall_e_3_revises_the_prompt_and_b64_equals_the_url_bytes(oai: openai.OpenAI, http: httpx.Client) -> None:
    by_url = oai.images.generate(model="dall-e-3", prompt="a red kite", response_format="url")
    inline = oai.images.generate(model="dall-e-3", prompt="a red kite", response_format="b64_json")
    assert by_url.data and inline.data
    assert by_url.data[0].revised_prompt and by_url.data[0].revised_prompt.startswith("a red kite")
    url_bytes = fetch(http, by_url.data[0].url or "").content
    assert base64.b64decode(inline.data[0].b64_json or "") != b""
    assert open_picture(url_bytes).size == open_picture(base64.b64decode(inline.data[0].b64_json or "")).size


def test_gpt_image_defaults_to_b64_with_usage_and_output_settings(oai: openai.OpenAI) -> None:
    result = oai.images.generate(model="gpt-image-1", prompt="a paper crane", size="1536x1024", quality="high")
    assert result.data and result.data[0].b64_json and not result.data[0].url
    image = open_picture(base64.b64decode(result.data[0].b64_json))
    assert (image.format, image.size, image.mode) == ("PNG", (1536, 1024), "RGB")
    assert (result.background, result.output_format, result.quality, result.size) == (
        "opaque",
        "png",
        "high",
        "1536x1024",
    )
    assert result.usage is not None
    assert result.usage.output_tokens == 6208
    assert result.usage.total_tokens == result.usage.input_tokens + result.usage.output_tokens


@pytest.mark.parametrize("fmt", ["png", "webp"])
def test_gpt_image_transparent_background_has_alpha(oai: openai.OpenAI, fmt: str) -> None:
    result = oai.images.generate(
        model="gpt-image-1",
        prompt="a sticker",
        background="transparent",
        output_format=fmt,
        quality="low",  # type: ignore[arg-type]
    )
    assert result.data
    image = open_picture(base64.b64decode(result.data[0].b64_json or ""))
    assert image.format == fmt.upper()
    assert image.mode == "RGBA"
    assert image.getextrema()[3][0] == 0, "some pixels are fully transparent"
    assert result.background == "transparent"


def test_gpt_image_jpeg_with_compression(oai: openai.OpenAI) -> None:
    low = oai.images.generate(model="gpt-image-1", prompt="x", output_format="jpeg", output_compression=10)
    high = oai.images.generate(model="gpt-image-1", prompt="x", output_format="jpeg", output_compression=95)
    low_bytes = base64.b64decode((low.data or [])[0].b64_json or "")
    high_bytes = base64.b64decode((high.data or [])[0].b64_json or "")
    assert open_picture(low_bytes).format == "JPEG"
    assert len(low_bytes) < len(high_bytes)


def test_gpt_image_stream_sends_partials_then_the_picture(oai: openai.OpenAI) -> None:
    events = list(oai.images.generate(model="gpt-image-1", prompt="x", stream=True, partial_images=2, quality="low"))
    assert [e.type for e in events] == ["image_generation.partial_image"] * 2 + ["image_generation.completed"]
    final = open_picture(base64.b64decode(events[-1].b64_json))
    assert final.size == (1024, 1024)


def test_recraftv3_vector_style_is_an_svg_with_metadata(http: httpx.Client) -> None:
    body = {"model": "recraftv3", "prompt": "a fox logo", "style": "vector_illustration"}
    r = http.post("/v1/images/generations", json=body)
    assert r.status_code == 200, r.text
    payload = r.json()
    svg = fetch(http, payload["data"][0]["url"])
    assert svg.headers["content-type"] == "image/svg+xml"
    root = ET.fromstring(svg.content)
    assert root.tag == "{http://www.w3.org/2000/svg}svg" and root.attrib["width"] == "1024"
    assert payload["metadata"]["images"][0]["vector_image"] is True
    assert payload["image"] == [payload["data"][0]["url"]]


def test_seedream_reports_model_and_count_and_a_seed_repeats_the_picture(http: httpx.Client) -> None:
    body = {"model": "doubao-seedream-3-0-t2i-250415", "prompt": "a cat", "seed": 42, "response_format": "b64_json"}
    first = http.post("/v1/images/generations", json=body).json()
    second = http.post("/v1/images/generations", json=body).json()
    assert first["model"] == body["model"] and first["usage"] == {"generated_images": 1}
    assert first["data"][0]["b64_json"] == second["data"][0]["b64_json"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/images/generations", {"model": "dall-e-2", "prompt": "a bridge", "n": 2, "size": "256x256"}),
        ("/v1/images/generations", {"model": "recraftv3", "prompt": "a bridge", "response_format": "b64_json"}),
        ("/recraft/v1/images/generations", {"prompt": "a bridge", "n": 2}),
    ],
)
def test_same_calls_on_fresh_emulators_give_identical_answers(path: str, body: dict[str, object]) -> None:
    from mockserver.app import create_app
    from tests.media.media_helpers import AUTH, media_settings

    answers = []
    for _ in range(2):
        with TestClient(create_app(media_settings()), headers=AUTH) as client:
            answers.append([client.post(path, json=body).json() for _ in range(2)])
    assert answers[0] == answers[1]
    assert answers[0][0]["data"] != answers[0][1]["data"], "a repeated call draws new pictures"


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"model": "dall-e-3", "prompt": "x", "n": 2}, "n", "n_not_within_range"),
        ({"model": "dall-e-3", "prompt": "x", "size": "512x512"}, "size", "size_not_supported"),
        ({"model": "gpt-image-1", "prompt": "x", "size": "1024*1024x"}, "size", "invalid_size"),
        ({"model": "gpt-image-1", "prompt": "x", "size": "1792x1024"}, "size", "size_not_supported"),
        ({"model": "qwen-image", "prompt": "x", "size": "4000x4000"}, "size", "size_not_supported"),
        ({"model": "imagen4", "prompt": "x", "aspect_ratio": "2:1"}, "aspect_ratio", "size_not_supported"),
        ({"model": "flux-pro", "prompt": "x", "n": 5}, "n", "n_not_within_range"),
        ({"model": "dall-e-3", "prompt": "x", "quality": "low"}, "quality", "invalid_value"),
        ({"model": "dall-e-3", "prompt": "x", "style": "cartoon"}, "style", "invalid_value"),
        (
            {"model": "gpt-image-1", "prompt": "x", "background": "transparent", "output_format": "jpeg"},
            "background",
            "invalid_value",
        ),
        ({"model": "gpt-image-1", "prompt": "x", "output_format": "gif"}, "output_format", "invalid_request"),
        ({"model": "dall-e-3", "prompt": "x", "response_format": "file"}, "response_format", "invalid_request"),
        ({"model": "dall-e-3", "prompt": "  "}, "prompt", "prompt_missing"),
        ({"model": "dall-e-3", "prompt": "x" * 4001}, "prompt", "prompt_too_long"),
        ({"model": "dall-e-3"}, "prompt", "invalid_request"),
        ({"model": "dall-e-3", "prompt": "x", "stream": True}, "stream", ""),
    ],
)
def test_bad_generation_requests_are_a_400_naming_the_field(
    http: httpx.Client, body: dict[str, object], field: str, code: str
) -> None:
    r = http.post("/v1/images/generations", json=body)
    assert r.status_code == 400, r.text
    error = r.json()["error"]
    assert (error["param"], error["code"]) == (field, code)


# ---------------------------------------------------------------------------------------------
# Edits

SOURCE = render_image(300, 200, seed=7)
MASK = render_image(300, 200, seed=8, alpha=True)


def test_gpt_image_edit_with_mask_keeps_the_shape(oai: openai.OpenAI) -> None:
    result = oai.images.edit(model="gpt-image-1", image=("room.png", SOURCE), mask=("mask.png", MASK), prompt="a lamp")
    assert result.data
    image = open_picture(base64.b64decode(result.data[0].b64_json or ""))
    assert image.size == (1536, 1024), "size=auto picks the standard size closest to the input's shape"
    assert result.usage is not None and result.usage.input_tokens_details.image_tokens > 0


def test_edit_with_several_images_and_explicit_size(oai: openai.OpenAI, http: httpx.Client) -> None:
    result = oai.images.edit(
        model="gpt-image-1",
        image=[("a.png", SOURCE), ("b.webp", _as(SOURCE, "WEBP"))],
        prompt="combine",
        size="1024x1536",
        response_format="url",
        n=2,
    )
    assert len(result.data or []) == 2
    assert picture(http, (result.data or [])[0]).size == (1024, 1536)


def test_qwen_image_edit_keeps_the_input_size(oai: openai.OpenAI, http: httpx.Client) -> None:
    result = oai.images.edit(model="qwen-image-edit", image=("photo.jpg", _as(SOURCE, "JPEG")), prompt="snow")
    image = picture(http, (result.data or [])[0])
    assert image.size == (300, 200)
    edited = image.convert("RGB")
    to_source = _distance(edited, open_picture(SOURCE))
    to_other = _distance(edited, open_picture(render_image(300, 200, seed=99)))
    assert to_source < to_other, "the edit still looks like its source"


def _distance(a: Image.Image, b: Image.Image) -> float:
    small = (30, 20)
    diff = ImageChops.difference(a.convert("RGB").resize(small), b.convert("RGB").resize(small))
    return sum(ImageStat.Stat(diff).mean)


def _as(png: bytes, fmt: str) -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(png)).convert("RGB").save(out, fmt)
    return out.getvalue()


@pytest.mark.parametrize(
    ("files", "data", "field"),
    [
        ({"image": ("a.png", SOURCE), "mask": ("m.png", render_image(100, 100, seed=1, alpha=True))}, {}, "mask"),
        ({"image": ("a.png", SOURCE), "mask": ("m.png", render_image(300, 200, seed=1))}, {}, "mask"),
        ({"image": ("a.png", SOURCE), "mask": ("m.jpg", _as(MASK, "JPEG"))}, {}, "mask"),
        ({"image": ("a.png", b"not a picture")}, {}, "image"),
        ({"image": ("a.gif", _as(SOURCE, "GIF"))}, {}, "image"),
        ({"mask": ("m.png", MASK)}, {}, "image"),
        ({"x": ("x", b"x")}, {"image": "a.png"}, "image"),
        ({"image": ("a.png", SOURCE)}, {"size": "999x999"}, "size"),
        ({"image": ("a.png", SOURCE)}, {"n": "11"}, "n"),
    ],
)
def test_bad_edits_are_a_400_naming_the_field(
    http: httpx.Client, files: dict[str, object], data: dict[str, str], field: str
) -> None:
    r = http.post("/v1/images/edits", data={"model": "gpt-image-1", "prompt": "x", **data}, files=files)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == field


def test_qwen_image_edit_takes_one_image(http: httpx.Client) -> None:
    files = [("image", ("a.png", SOURCE)), ("image", ("b.png", SOURCE))]
    r = http.post("/v1/images/edits", data={"model": "qwen-image-edit", "prompt": "x"}, files=files)
    assert r.status_code == 400 and r.json()["error"]["param"] == "image"

"""Ideogram 3.0 and Recraft: each vendor's envelope, pictures drawn from the upload, the checks on input."""

from __future__ import annotations

import base64
import io
import json
import xml.etree.ElementTree as ET

import httpx
import pytest
from PIL import Image

from mockserver.content.images import render_image
from mockserver.families.imagegen.ideogram import V3_RESOLUTIONS
from mockserver.testing import ThreadedServer
from tests.media.media_helpers import fetch, open_picture

SOURCE = render_image(320, 240, seed=3)
BLACK_WHITE = render_image(320, 240, seed=4)


# ---------------------------------------------------------------------------------------------
# Ideogram


def test_ideogram_generate_envelope_and_pictures(http: httpx.Client, media_live: ThreadedServer) -> None:
    r = http.post(
        "/ideogram/v1/ideogram-v3/generate",
        data={"prompt": "a neon sign", "aspect_ratio": "16x9", "num_images": "2", "seed": "7", "magic_prompt": "ON"},
    )
    assert r.status_code == 200, r.text
    payload = r.json()
    assert payload["created"] == "2025-06-15 15:06:40+00:00"
    assert [item["seed"] for item in payload["data"]] == [7, 8]
    for item in payload["data"]:
        assert item["resolution"] == "1312x736" and item["is_image_safe"] is True
        assert item["style_type"] == "GENERAL"
        assert item["prompt"].startswith("a neon sign, ")
        assert item["url"].startswith(media_live.url)
        image = open_picture(fetch(http, item["url"]).content)
        assert (image.format, image.size) == ("PNG", (1312, 736))


def test_ideogram_resolution_and_magic_prompt_off(http: httpx.Client) -> None:
    r = http.post(
        "/ideogram/v1/ideogram-v3/generate", data={"prompt": "a cup", "resolution": "832x1248", "magic_prompt": "OFF"}
    )
    item = r.json()["data"][0]
    assert item["prompt"] == "a cup" and item["resolution"] == "832x1248"
    assert open_picture(fetch(http, item["url"]).content).size == (832, 1248)
    assert "1024x1024" in V3_RESOLUTIONS


def test_ideogram_edit_keeps_the_image_size(http: httpx.Client) -> None:
    files = {"image": ("room.png", SOURCE), "mask": ("mask.png", BLACK_WHITE)}
    r = http.post("/ideogram/v1/ideogram-v3/edit", data={"prompt": "a plant"}, files=files)
    assert r.status_code == 200, r.text
    item = r.json()["data"][0]
    assert item["resolution"] == "320x240"
    assert open_picture(fetch(http, item["url"]).content).size == (320, 240)


def test_ideogram_remix_and_upscale(http: httpx.Client) -> None:
    remix = http.post(
        "/ideogram/v1/ideogram-v3/remix",
        data={"prompt": "as a watercolor", "image_weight": "70", "aspect_ratio": "3x4"},
        files={"image": ("cat.png", SOURCE)},
    )
    assert remix.status_code == 200, remix.text
    assert open_picture(fetch(http, remix.json()["data"][0]["url"]).content).size == (864, 1152)
    request = {"resemblance": 60, "detail": 40, "prompt": "sharper", "seed": 12345}
    up = http.post(
        "/ideogram/upscale", data={"image_request": json.dumps(request)}, files={"image_file": ("a.png", SOURCE)}
    )
    assert up.status_code == 200, up.text
    item = up.json()["data"][0]
    assert item["seed"] == 12345 and item["resolution"] == "640x480"
    assert open_picture(fetch(http, item["url"]).content).size == (640, 480)


@pytest.mark.parametrize(
    ("path", "data", "files", "status", "field"),
    [
        ("generate", {"prompt": "x", "resolution": "1000x1000"}, {}, 400, "resolution"),
        ("generate", {"prompt": "x", "resolution": "1024x1024", "aspect_ratio": "1x1"}, {}, 400, "resolution"),
        ("generate", {"prompt": "x", "aspect_ratio": "7x3"}, {}, 400, "aspect_ratio"),
        ("generate", {"prompt": "x", "num_images": "9"}, {}, 400, "num_images"),
        ("generate", {"prompt": "x", "rendering_speed": "FAST"}, {}, 400, "rendering_speed"),
        ("generate", {"prompt": "x", "style_codes": "nothex!!"}, {}, 400, "style_codes"),
        ("generate", {"prompt": "x", "style_codes": "AAFF0011", "style_type": "DESIGN"}, {}, 400, "style_codes"),
        ("generate", {"prompt": "x", "color_palette": "{not json"}, {}, 400, "color_palette"),
        ("generate", {"prompt": "gore-banned scene"}, {}, 422, "prompt"),
        ("generate", {}, {"x": ("x", b"x")}, 400, "prompt"),
        (
            "edit",
            {"prompt": "x"},
            {"image": ("a.png", SOURCE), "mask": ("m.png", render_image(10, 10, seed=1))},
            400,
            "mask",
        ),
        ("edit", {"prompt": "x"}, {"image": ("a.png", SOURCE)}, 400, "mask"),
        ("edit", {"prompt": "x"}, {"image": ("a.txt", b"text"), "mask": ("m.png", BLACK_WHITE)}, 400, "image"),
        ("remix", {"prompt": "x", "image_weight": "0"}, {"image": ("a.png", SOURCE)}, 400, "image_weight"),
    ],
)
def test_ideogram_bad_input(
    http: httpx.Client, path: str, data: dict[str, str], files: dict[str, object], status: int, field: str
) -> None:
    r = http.post(f"/ideogram/v1/ideogram-v3/{path}", data=data, files=files or {"x": ("x", b"x")})
    assert r.status_code == status, r.text
    assert r.json()["error"]["param"] == field


@pytest.mark.parametrize(
    ("image_request", "field"),
    [
        ("not json", "image_request"),
        (json.dumps({"resemblance": 101}), "image_request.resemblance"),
        (json.dumps({"magic_prompt_option": "MAYBE"}), "image_request.magic_prompt_option"),
    ],
)
def test_ideogram_upscale_checks_the_image_request(http: httpx.Client, image_request: str, field: str) -> None:
    r = http.post("/ideogram/upscale", data={"image_request": image_request}, files={"image_file": ("a.png", SOURCE)})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == field


# ---------------------------------------------------------------------------------------------
# Recraft


def test_recraft_generate_envelope(http: httpx.Client) -> None:
    r = http.post("/recraft/v1/images/generations", json={"prompt": "red cat", "size": "1365x1024", "n": 2})
    assert r.status_code == 200, r.text
    payload = r.json()
    assert payload["created"] == 1_750_000_000 and payload["credits"] == 80
    assert len({item["image_id"] for item in payload["data"]}) == 2
    image = open_picture(fetch(http, payload["data"][0]["url"]).content)
    assert image.size == (1365, 1024)


def test_recraft_icon_style_is_svg_inline(http: httpx.Client) -> None:
    r = http.post(
        "/recraft/v1/images/generations", json={"prompt": "a bell", "style": "icon", "response_format": "b64_json"}
    )
    svg = base64.b64decode(r.json()["data"][0]["b64_json"])
    assert ET.fromstring(svg).tag == "{http://www.w3.org/2000/svg}svg"
    assert r.json()["credits"] == 80


def test_recraft_vectorize_returns_a_real_svg_of_the_input_size(http: httpx.Client) -> None:
    r = http.post("/recraft/v1/images/vectorize", files={"file": ("logo.png", SOURCE)})
    assert r.status_code == 200, r.text
    payload = r.json()
    assert set(payload) == {"created", "credits", "image"} and payload["credits"] == 10
    svg = fetch(http, payload["image"]["url"])
    assert svg.headers["content-type"] == "image/svg+xml"
    root = ET.fromstring(svg.content)
    assert (root.attrib["width"], root.attrib["height"]) == ("320", "240")
    assert len(root) > 10, "traced shapes"


def test_recraft_remove_background_is_png_with_alpha(http: httpx.Client) -> None:
    r = http.post("/recraft/v1/images/removeBackground", files={"image": ("photo.png", SOURCE)})
    image = open_picture(fetch(http, r.json()["image"]["url"]).content)
    assert (image.format, image.mode, image.size) == ("PNG", "RGBA", (320, 240))
    low, high = image.getextrema()[3]
    assert low == 0 and high == 255, "background transparent, subject opaque"


@pytest.mark.parametrize(("operation", "size"), [("clarityUpscale", (1280, 960)), ("generativeUpscale", (640, 480))])
def test_recraft_upscales_are_larger(http: httpx.Client, operation: str, size: tuple[int, int]) -> None:
    r = http.post(
        f"/recraft/v1/images/{operation}", files={"file": ("p.png", SOURCE)}, data={"response_format": "b64_json"}
    )
    assert r.status_code == 200, r.text
    image = Image.open(io.BytesIO(base64.b64decode(r.json()["image"]["b64_json"])))
    assert image.size == size


@pytest.mark.parametrize(
    ("path", "kwargs", "field"),
    [
        ("generations", {"json": {"prompt": "x", "size": "1000x1000"}}, "size"),
        ("generations", {"json": {"prompt": "x", "n": 7}}, "n"),
        ("generations", {"json": {"prompt": "x", "style": "comic"}}, "style"),
        ("generations", {"json": {"prompt": "x" * 1001}}, "prompt"),
        (
            "generations",
            {"json": {"prompt": "x", "style": "icon", "style_id": "0b6e8f3a-1111-4222-8333-444455556666"}},
            "style_id",
        ),
        ("vectorize", {"files": {"file": ("a.txt", b"hello")}}, "file"),
        ("vectorize", {"data": {"response_format": "url"}}, "file"),
        (
            "removeBackground",
            {"files": {"file": ("p.png", SOURCE)}, "data": {"response_format": "xml"}},
            "response_format",
        ),
    ],
)
def test_recraft_bad_input(http: httpx.Client, path: str, kwargs: dict[str, object], field: str) -> None:
    if "json" not in kwargs and "files" not in kwargs:
        kwargs = {**kwargs, "files": {"unrelated": ("u", b"u")}}
    r = http.post(f"/recraft/v1/images/{path}", **kwargs)  # type: ignore[arg-type]
    assert r.status_code == 400, r.text
    assert r.json()["error"]["param"] == field

"""With keys, media links are served only to a key or with the signature they were handed out with."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
from starlette.testclient import TestClient

from mockserver.app import create_app
from mockserver.settings import Settings

KEY = {"Authorization": "Bearer sk-good"}


def make(**settings: object) -> TestClient:
    return TestClient(create_app(Settings(speed=0.0, start_time=1_750_000_000.0, **settings)))  # type: ignore[arg-type]


def local(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def image_url(client: TestClient) -> str:
    body = {"model": "dall-e-3", "prompt": "a lighthouse", "response_format": "url"}
    answer = client.post("/v1/images/generations", json=body, headers=KEY)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["data"][0]["url"])


def test_links_are_signed_and_checked_when_the_server_has_keys() -> None:
    with make(api_key=("sk-good",)) as client:
        url = image_url(client)
        assert "?sig=" in url
        assert client.get(local(url)).status_code == 200  # no key: the signature is enough
        unsigned = local(url).split("?", 1)[0]
        assert client.get(unsigned).status_code == 401
        assert client.get(unsigned, headers=KEY).status_code == 200  # a known key is enough too
        assert client.get(unsigned, headers={"Authorization": "Bearer sk-bad"}).status_code == 401
        forged = unsigned.replace(".png", ".jpg") + "?sig=" + url.rsplit("sig=", 1)[1]
        assert client.get(forged).status_code == 401


def test_midjourney_image_links_are_signed_too() -> None:
    with make(api_key=("sk-good",)) as client:
        task = client.post("/mj/submit/imagine", json={"prompt": "a cat", "botType": "MID_JOURNEY"}, headers=KEY)
        task_id = task.json()["result"]
        client.post("/__mock/clock/advance", json={"seconds": 3600})
        fetched = client.get(f"/mj/task/{task_id}/fetch", headers=KEY).json()
        assert fetched["status"] == "SUCCESS" and "sig=" in fetched["imageUrl"]
        assert client.get(local(fetched["imageUrl"])).status_code == 200
        assert client.get(f"/mj/image/{task_id}").status_code == 401
        assert client.get(f"/mj/image/{task_id}?sig=0000").status_code == 401


def test_without_keys_links_are_plain_and_open() -> None:
    with make() as client:
        url = image_url(client)
        assert "sig=" not in url and client.get(local(url)).status_code == 200


def test_links_in_callbacks_are_signed_too() -> None:
    from tests.tasks.helpers import live_emulator, running_receiver

    with running_receiver() as receiver, live_emulator(instant=True, api_key=("sk-test",)) as mj:
        body = {"prompt": "a cat", "botType": "MID_JOURNEY", "notifyHook": receiver.url}
        task_id = mj.post("/mj/submit/imagine", body).json()["result"]
        done = receiver.wait_until(lambda got: any(b.get("status") == "SUCCESS" for b in got))
        image = next(b for b in done if b.get("status") == "SUCCESS")["imageUrl"]
        assert task_id in image and "sig=" in image  # rendered by the dispatcher, outside any request
        assert httpx.get(image).status_code == 200
        assert httpx.get(image.split("?", 1)[0]).status_code == 401

"""The families' registry: one function loads every family, and every table is built from it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from mockserver.contracts import load_contracts
from mockserver.registry import FAMILY_NAMES, load_families

# A path of each vendor, and how its error envelope looks.
MISSES: dict[str, tuple[str, str]] = {
    "openai": ("POST", "/v1/chat/completions"),
    "anthropic": ("POST", "/v1/messages"),
    "gemini": ("POST", "/v1beta/models/gemini-2.0-flash:generateContent"),
    "midjourney": ("POST", "/mj/submit/imagine"),
    "suno": ("POST", "/suno/submit/music"),
    "kling": ("POST", "/kling/v1/videos/text2video"),
    "runway": ("POST", "/runwayml/v1/image_to_video"),
    "replicate": ("POST", "/replicate/v1/models/black-forest-labs/flux-pro/predictions"),
    "yescale": ("GET", "/yescale/user"),
}

SHAPES: dict[str, Any] = {
    "openai": lambda b: set(b["error"]) >= {"message", "type", "code"},
    "anthropic": lambda b: b["type"] == "error" and "message" in b["error"],
    "gemini": lambda b: b["error"]["code"] == 404 and "status" in b["error"],
    # midjourney-proxy never answers 404 itself: new-api's router does, in the gateway's shape.
    "midjourney": lambda b: b["error"]["code"] == "cassette_miss",
    "suno": lambda b: b["data"] is None and isinstance(b["code"], str),
    "kling": lambda b: isinstance(b["code"], int) and "request_id" in b,
    "runway": lambda b: "error" in b and isinstance(b["error"], str),
    "replicate": lambda b: "detail" in b and b["status"] == 404,
    "yescale": lambda b: b["success"] is False,
}

SCRIPT = """
import json, sys
from starlette.testclient import TestClient
from mockserver.recording import create_replay_app
from mockserver.settings import Settings

misses = json.loads(sys.argv[2])
app = create_replay_app(Settings(cassettes=sys.argv[1]))
out = {}
with TestClient(app) as client:
    for vendor, (method, path) in misses.items():
        answer = client.request(method, path, json={}, headers={"Authorization": "Bearer sk-x"})
        out[vendor] = [answer.status_code, answer.json()]
print(json.dumps(out))
"""


def test_a_replay_miss_answers_in_each_vendors_envelope_in_a_fresh_process(tmp_path: Path) -> None:
    # A fresh interpreter imports nothing but the replay server: the envelopes must still be right.
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path), json.dumps(MISSES)], capture_output=True, text=True, check=True
    )
    answers = json.loads(run.stdout.strip().splitlines()[-1])
    for vendor, (status, body) in answers.items():
        assert status == 404, (vendor, body)
        assert SHAPES[vendor](body), (vendor, body)
        assert "cassette" in json.dumps(body).lower(), (vendor, body)  # the message explains the miss


def test_every_family_is_a_package_named_like_its_contracts_folder() -> None:
    registry = load_families()
    assert tuple(f.name for f in registry.families) == FAMILY_NAMES
    contracts = load_contracts()
    folders = {c.file.split("/")[0] for c in contracts}
    assert folders == set(FAMILY_NAMES)
    served = {e.operation: f.name for f in registry.families for e in f.routes}
    for contract in contracts:
        assert served[contract.id] == contract.family, contract.id
        assert contract.file.startswith(contract.family + "/")


def test_every_vendor_with_its_own_envelope_is_declared_once() -> None:
    registry = load_families()
    vendors = {c.vendor for c in load_contracts()}
    # Vendors without their own shape answer in the gateway's (OpenAI) envelope.
    assert set(registry.envelopes) <= vendors
    assert {"anthropic", "gemini", "midjourney", "suno", "kling", "yescale"} <= set(registry.envelopes)
    assert set(registry.task_vendors) <= vendors

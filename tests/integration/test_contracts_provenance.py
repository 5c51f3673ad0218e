"""`mockserver contracts list --provenance`: every contract the gateway-fidelity work changed shows
where its behaviour comes from (issue 15)."""

from __future__ import annotations

import pytest

from mockserver.cli import main

CHANGED = {
    "models_retrieve": "RetrieveModel",
    "billing_subscription": "router/dashboard.go",
    "billing_usage": "router/dashboard.go",
    "responses_create": "ResponseUsage",
    "chat_completions": "message.audio",
    "claude_count_tokens": "messages.count_tokens",
    "suno_fetch": "TaskModel2Dto",
    "suno_fetch_batch": "TaskModel2Dto",
    "suno_generate_lyrics": "prompt_empty",
    "kling_text2video_get": "alternative (https://github.com/QuantumNous/new-api",
    "kling_image2video_submit": "alternative (https://github.com/QuantumNous/new-api",
    "mj_submit_imagine": "prompt_is_required",
    "mj_submit_action": "rewritten",
    "mj_task_fetch": "coverMidjourneyTaskDto",
    "claude_messages": "signature_delta",
}


def test_list_with_provenance_prints_sources_and_gateway_notes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["contracts", "list", "--provenance"]) == 0
    out = capsys.readouterr().out
    sections: dict[str, str] = {}
    current = ""
    for line in out.splitlines():
        if not line.startswith(" "):
            current = line.split()[0]
            sections[current] = ""
        else:
            sections[current] += line + "\n"
    for operation, needle in CHANGED.items():
        assert needle in sections[operation], operation
    plain = main(["contracts", "list"])
    assert plain == 0 and "    https://" not in capsys.readouterr().out

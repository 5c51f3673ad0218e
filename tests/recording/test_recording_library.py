"""The replay index: recorded order for repeated requests, the last answer again, unplayed and rewind."""

from __future__ import annotations

import orjson

from mockserver.recording import Cassette, Interaction, RecordedRequest, RecordedResponse
from mockserver.recording.filters import RedactionRules, request_filter
from mockserver.recording.library import CassetteLibrary
from mockserver.recording.matchers import MatchOptions

URL = "https://api.yescale.io/mj/task/t1/fetch"


def poll(progress: str) -> Interaction:
    request = RecordedRequest("GET", URL, {}, b"")
    body = orjson.dumps({"id": "t1", "progress": progress})
    return Interaction(request, RecordedResponse(200, {"content-type": ["application/json"]}, body, "OK"))


def other() -> Interaction:
    request = RecordedRequest("GET", "https://api.yescale.io/v1/models", {}, b"")
    return Interaction(request, RecordedResponse(200, {"content-type": ["application/json"]}, b"{}", "OK"))


def library() -> CassetteLibrary:
    cassette = Cassette([poll("0%"), other(), poll("50%"), poll("100%")])
    return CassetteLibrary(
        [cassette],
        match_on=("method", "path"),
        options=MatchOptions.build(),
        request_filter=request_filter(RedactionRules.build()),
    )


def progress_of(lib: CassetteLibrary, url: str = URL) -> str:
    entry = lib.take(lib.key_of(RecordedRequest("GET", url, {}, b"")))
    assert entry is not None
    return str(orjson.loads(entry.body).get("progress"))


def test_repeated_requests_replay_in_order_then_repeat_the_last() -> None:
    lib = library()
    assert [progress_of(lib) for _ in range(5)] == ["0%", "50%", "100%", "100%", "100%"]


def test_unplayed_and_rewind_cover_keys_recorded_once_and_many_times() -> None:
    lib = library()
    assert len(lib.unplayed()) == 4
    progress_of(lib)
    assert [e.index for e in lib.unplayed()] == [1, 2, 3]  # cassette order
    progress_of(lib, "https://api.yescale.io/v1/models")
    assert [e.index for e in lib.unplayed()] == [2, 3]
    lib.rewind()
    assert len(lib.unplayed()) == 4
    assert progress_of(lib) == "0%"


def test_a_miss_is_none() -> None:
    lib = library()
    assert lib.take(lib.key_of(RecordedRequest("GET", "https://api.yescale.io/nope", {}, b""))) is None

"""The replay index: every recorded interaction by its match key, played back in recorded order.

Lookup is one dict access. Identical requests get the recorded answers in order (the polls of a task
progress as they did) and, once those are used up, the last one again (a finished task stays finished).
A miss looks for the nearest recorded requests — same path first — and says which matcher failed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Hashable, Iterable, Iterator
from pathlib import Path
from typing import Any

from mockserver.recording.cassettes import Cassette, Interaction, RecordedRequest
from mockserver.recording.filters import RequestFilter
from mockserver.recording.matchers import MatchOptions, canonical_body, explain, json_distance, match_key
from mockserver.recording.media import notes_of
from mockserver.recording.wire import asgi_headers, pack_headers

_SCAN_LIMIT = 5000
_RANK_LIMIT = 50


@dataclasses.dataclass(eq=False, slots=True)
class Entry:
    """A replayable interaction: where it came from, its match key and the callbacks it triggered.

    The answer is kept ready to send — status, headers packed into one bytes object, body — so that
    replaying touches a few objects, not the whole interaction: with 100,000 interactions almost
    every answer is cold in the CPU cache, and each object touched costs a cache miss.
    """

    interaction: Interaction
    cassette: Path | None
    index: int
    key: tuple[Hashable, ...]
    callbacks: tuple[Interaction, ...] = ()  # the shared empty tuple: no object of its own to fetch
    played: bool = False
    status: int = 200
    head: bytes = b""
    body: bytes = b""
    streamed: bool = False
    media: tuple[dict[str, Any], ...] = ()  # the media notes of the answer (links to rewrite on replay)

    @property
    def where(self) -> str:
        return f"{self.cassette or '<memory>'}#{self.index}"

    def prepare(self) -> Entry:
        resp = self.interaction.response
        self.status, self.body, self.streamed = resp.status, resp.body, resp.chunks is not None
        extra = [("x-mockserver-cassette", self.where)]
        if not self.streamed:
            extra.append(("content-length", str(len(resp.body))))
        self.head = pack_headers(asgi_headers(resp.headers, *extra))
        notes = notes_of(self.interaction)
        if notes:
            self.media = tuple(notes)
        return self


@dataclasses.dataclass(eq=False)
class _Slot:
    """The answers recorded for one key when there are several (a key recorded once maps to its Entry)."""

    entries: list[Entry]
    cursor: int = 0


@dataclasses.dataclass(frozen=True)
class Candidate:
    """A recorded request near a missed one: which matchers it failed, and how."""

    entry: Entry
    failed: tuple[str, ...]
    reasons: tuple[str, ...]


class CassetteLibrary:
    """Recorded interactions indexed by match key (`match_on` matchers of the redacted request)."""

    def __init__(
        self,
        cassettes: Iterable[Cassette] = (),
        *,
        match_on: tuple[str, ...],
        options: MatchOptions,
        request_filter: RequestFilter,
        redacted_with: str | None = None,
    ) -> None:
        self.match_on = match_on
        # Cassettes whose `redacted_with` says they were written under the current rules skip redaction.
        self.redacted_with = redacted_with
        self.options = options
        self.request_filter = request_filter
        self._slots: dict[tuple[Hashable, ...], Entry | _Slot] = {}
        self._by_path: dict[str, list[Entry]] = {}
        # Stored media by file name: (path, content type); cassettes recorded with --no-media.
        self.media_files: dict[str, tuple[Path, str]] = {}
        self.media_off: list[Path] = []
        self.entries: list[Entry] = []
        self.cassettes: list[Path] = []
        for cassette in cassettes:
            self.add(cassette)

    def __len__(self) -> int:
        return len(self.entries)

    def key_of(self, request: RecordedRequest) -> tuple[Hashable, ...]:
        """The match key of a request as the client sent it (redacted first, like the recording was)."""
        return match_key(self.request_filter(request), self.match_on, self.options)

    def add(self, cassette: Cassette) -> None:
        """Index every HTTP interaction of `cassette`; callbacks are attached to their submit."""
        if cassette.path is not None:
            self.cassettes.append(cassette.path)
        added: dict[int, Entry] = {}
        clean = self.redacted_with is not None and cassette.meta.get("redacted_with") == self.redacted_with
        media_off = cassette.meta.get("media") == "off"
        if media_off and cassette.path is not None:
            self.media_off.append(cassette.path)
        for index, item in enumerate(cassette.interactions):
            self._index_media(cassette, item)
            if item.kind == "callback":
                target = added.get(item.callback_of) if item.callback_of is not None else None
                if target is not None:
                    target.callbacks = (*target.callbacks, item)
                continue
            key = match_key(item.request, self.match_on, self.options) if clean else self.key_of(item.request)
            entry = Entry(item, cassette.path, index, key).prepare()
            if media_off:
                entry.head += b"\nx-mockserver-media\0not-recorded"
            added[index] = entry
            self.entries.append(entry)
            slot = self._slots.get(entry.key)
            if slot is None:
                self._slots[entry.key] = entry
            elif isinstance(slot, Entry):
                self._slots[entry.key] = _Slot([slot, entry])
            else:
                slot.entries.append(entry)
            self._by_path.setdefault(item.request.path, []).append(entry)

    def _index_media(self, cassette: Cassette, item: Interaction) -> None:
        folder = cassette.path.parent if cassette.path is not None else Path(".")
        for note in notes_of(item):
            file, content_type = note.get("file"), note.get("content_type")
            if isinstance(file, str) and isinstance(content_type, str):
                self.media_files[Path(file).name] = (folder / file, content_type)

    def take(self, key: tuple[Hashable, ...]) -> Entry | None:
        """The next recorded answer for `key` (the last one again once all were played), or None."""
        slot = self._slots.get(key)
        if slot is None or type(slot) is Entry:  # most keys were recorded once: no slot to visit
            if slot is not None:
                slot.played = True
            return slot
        assert isinstance(slot, _Slot)
        if slot.cursor < len(slot.entries):
            entry = slot.entries[slot.cursor]
            slot.cursor += 1
            entry.played = True
            return entry
        return slot.entries[-1]

    def recorded(self, key: tuple[Hashable, ...]) -> Entry | list[Entry] | None:
        """What was recorded for `key`: its one Entry, its entries in recorded order, or None."""
        slot = self._slots.get(key)
        return slot.entries if isinstance(slot, _Slot) else slot

    def grouped(self) -> Iterator[tuple[tuple[Hashable, ...], list[Entry]]]:
        """Every match key with its entries in recorded order."""
        for key, slot in self._slots.items():
            yield key, slot.entries if isinstance(slot, _Slot) else [slot]

    def rewind(self) -> None:
        """Play every interaction from the start again."""
        for entry in self.entries:
            entry.played = False
        for slot in self._slots.values():
            if isinstance(slot, _Slot):
                slot.cursor = 0

    def unplayed(self) -> list[Entry]:
        """Recorded interactions no request has used yet."""
        return [e for e in self.entries if not e.played]

    def nearest(self, request: RecordedRequest, key: tuple[Hashable, ...], limit: int = 3) -> list[Candidate]:
        """The recorded requests closest to `request`: most matchers agreeing, same path first."""
        pool = self._by_path.get(request.path) or self.entries[:_SCAN_LIMIT]
        scored = []
        for position, entry in enumerate(pool):
            agree = sum(1 for a, b in zip(entry.key, key, strict=True) if a == b)
            scored.append((-agree, position, entry))
        scored.sort(key=lambda t: (t[0], t[1]))
        incoming = self.request_filter(request)
        # Among the best, prefer the bodies with the fewest differing fields.
        best = [
            (agree, self._body_distance(entry, incoming), position, entry)
            for agree, position, entry in scored[:_RANK_LIMIT]
        ]
        best.sort(key=lambda t: (t[0], t[1], t[2]))
        out: list[Candidate] = []
        seen: set[tuple[Hashable, ...]] = set()
        for _, _, _, entry in best:
            if entry.key in seen:
                continue
            seen.add(entry.key)
            failed = tuple(name for name, a, b in zip(self.match_on, entry.key, key, strict=True) if a != b)
            recorded = self.request_filter(entry.interaction.request)
            reasons = tuple(explain(name, recorded, incoming, self.options) for name in failed)
            out.append(Candidate(entry, failed, reasons))
            if len(out) >= limit:
                break
        return out

    def _body_distance(self, entry: Entry, incoming: RecordedRequest) -> float:
        a = canonical_body(self.request_filter(entry.interaction.request), self.options)
        b = canonical_body(incoming, self.options)
        return json_distance(a, b)


def describe_miss(request: RecordedRequest, candidates: list[Candidate], library: CassetteLibrary) -> str:
    """A miss explained in a few lines: what was asked, the nearest recordings and what differs."""
    where = ", ".join(str(p) for p in library.cassettes[:3]) or "no cassette"
    if len(library.cassettes) > 3:
        where += f" and {len(library.cassettes) - 3} more"
    head = (
        f"No recorded interaction matches {request.method} {request.path}"
        f" (matching on {', '.join(library.match_on)}; {len(library)} interactions in {where})."
    )
    if not candidates:
        return head + " Nothing was recorded to compare with."
    lines = [head, "Nearest recorded requests:"]
    for n, cand in enumerate(candidates, 1):
        req = cand.entry.interaction.request
        lines.append(f"{n}) {cand.entry.where} {req.method} {req.path} — failed {', '.join(cand.failed)}")
        lines.extend(f"   {reason}" for reason in cand.reasons)
    return "\n".join(lines)


def describe_candidates(candidates: list[Candidate]) -> list[dict[str, Any]]:
    """The nearest recordings of a miss as data: where, the request, the matchers it failed and why."""
    return [
        {
            "where": c.entry.where,
            "method": c.entry.interaction.request.method,
            "path": c.entry.interaction.request.path,
            "failed": list(c.failed),
            "reasons": list(c.reasons),
        }
        for c in candidates
    ]

"""Record modes, with VCR.py's semantics: what is replayed from a cassette and what is recorded."""

from __future__ import annotations

import dataclasses
import enum


class RecordMode(enum.StrEnum):
    """When to replay recorded interactions and when to call the upstream and record.

    - `none`: replay only; a request no cassette holds is a miss (or goes to the fallback).
    - `once`: record everything if the cassette file does not exist yet; otherwise behave as `none`.
    - `new_episodes`: replay what was recorded before; forward and record anything else.
    - `all`: never replay; forward and record everything (the cassette is recorded afresh).
    """

    NONE = "none"
    ONCE = "once"
    NEW_EPISODES = "new_episodes"
    ALL = "all"

    @classmethod
    def parse(cls, value: str | RecordMode) -> RecordMode:
        """`RecordMode(value)` with an error that lists the choices."""
        try:
            return cls(str(value).strip().lower().replace("-", "_"))
        except ValueError:
            choices = ", ".join(m.value for m in cls)
            raise ValueError(f"record mode {value!r} is not one of {choices}") from None


@dataclasses.dataclass(frozen=True)
class Plan:
    """What a mode means for one cassette: replay recorded interactions, record new ones, start afresh."""

    replay: bool
    record: bool
    fresh: bool = False


def plan_for(mode: RecordMode, cassette_exists: bool) -> Plan:
    """The plan for `mode`, given whether the cassette being recorded into already exists."""
    if mode is RecordMode.NONE:
        return Plan(replay=True, record=False)
    if mode is RecordMode.ONCE:
        return Plan(replay=True, record=False) if cassette_exists else Plan(replay=False, record=True, fresh=True)
    if mode is RecordMode.NEW_EPISODES:
        return Plan(replay=True, record=True)
    return Plan(replay=False, record=True, fresh=True)

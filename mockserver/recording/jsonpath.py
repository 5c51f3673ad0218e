"""Tiny JSON paths for redaction and ignored fields: `a.b`, `messages[0].content`, `items[*].id`, `*.key`.

A leading `$.` is allowed. `*` matches any key of an object; `[*]` any item of a list.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

Step = str | int  # a key, a list index, or "*" / -1 for "any"
_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+|\*)\]")


def parse_path(text: str) -> tuple[Step, ...]:
    """`a.b[0].c` → ('a', 'b', 0, 'c'); `[*]` becomes -1."""
    text = text.strip()
    if text.startswith("$"):
        text = text[1:].lstrip(".")
    steps: list[Step] = []
    pos = 0
    while pos < len(text):
        if text[pos] == ".":
            pos += 1
            continue
        m = _TOKEN.match(text, pos)
        if not m:
            raise ValueError(f"bad JSON path {text!r} at {pos}")
        if m.group(1) is not None:
            steps.append(m.group(1))
        else:
            steps.append(-1 if m.group(2) == "*" else int(m.group(2)))
        pos = m.end()
    if not steps:
        raise ValueError(f"empty JSON path {text!r}")
    return tuple(steps)


def locate(doc: Any, path: tuple[Step, ...]) -> Iterator[tuple[Any, Step]]:
    """Every (container, key) that `path` reaches in `doc`, deepest step last (existing ones only)."""
    if not path:
        return
    head, rest = path[0], path[1:]
    if isinstance(doc, dict) and isinstance(head, str):
        keys = list(doc) if head == "*" else ([head] if head in doc else [])
        for key in keys:
            if rest:
                yield from locate(doc[key], rest)
            else:
                yield doc, key
    elif isinstance(doc, list) and isinstance(head, int):
        indexes = range(len(doc)) if head == -1 else ([head] if head < len(doc) else [])
        for index in indexes:
            if rest:
                yield from locate(doc[index], rest)
            else:
                yield doc, index


def values_at(doc: Any, path: tuple[Step, ...]) -> list[Any]:
    return [container[key] for container, key in locate(doc, path)]


def delete_at(doc: Any, path: tuple[Step, ...]) -> None:
    """Remove what `path` reaches (list items are removed from the end so indexes stay right)."""
    found = list(locate(doc, path))
    for container, key in reversed(found):
        del container[key]

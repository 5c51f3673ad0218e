"""Midjourney prompts: parameters (`--ar`, `--v`, `--zoom`, speed flags), banned words, test markers,
and the text results of /describe (four suggestions) and /shorten (shortened prompts)."""

from __future__ import annotations

import dataclasses
import random
import re
from typing import Any

_PARAM = re.compile(r"--(\w+)(?:\s+([^\s-][^\s]*))?")
_RATIO = re.compile(r"^(\d+(?:\.\d+)?):(\d+(?:\.\d+)?)$")
_MARKER = re.compile(r"\[mock:([a-z-]+)(?:=([^\]]*))?\]", re.IGNORECASE)
_WORD = re.compile(r"[\w'-]+", re.UNICODE)

DEFAULT_FAIL_REASON = "[Job failed] The job encountered an internal error while rendering; please try again"
DEFAULT_REJECT_REASON = "[Interaction failed] Discord did not accept the job; please try again later"


def params(prompt: str) -> dict[str, str]:
    """`--name value` pairs of a prompt (a flag without a value maps to "")."""
    return {m.group(1).lower(): (m.group(2) or "") for m in _PARAM.finditer(prompt)}


def aspect(prompt: str, default: float = 1.0) -> float:
    """Width ÷ height from `--ar W:H` / `--aspect W:H`, clamped to Midjourney's 1:3 .. 3:1 range."""
    found = params(prompt)
    match = _RATIO.match(found.get("ar") or found.get("aspect") or "")
    if not match:
        return default
    w, h = float(match.group(1)), float(match.group(2))
    if w <= 0 or h <= 0:
        return default
    return min(3.0, max(1 / 3, w / h))


def version(prompt: str) -> str:
    """Model version from `--v N` / `--version N` ("6" unless 7 is asked for; the button ids differ)."""
    found = params(prompt)
    value = found.get("v") or found.get("version") or ""
    return "7" if value.startswith("7") else "6"


def mode(prompt: str, path: str) -> str:
    """Speed mode: a `/mj-relax`, `/mj-turbo`, `/mj-fast` path prefix, else a `--relax`/`--turbo`/`--fast`
    flag in the prompt, else fast."""
    for name in ("relax", "turbo", "fast"):
        if path.startswith(f"/mj-{name}/"):
            return name
    found = params(prompt)
    for name in ("relax", "turbo", "fast"):
        if name in found:
            return name
    return "fast"


def zoom_factor(prompt: str) -> float | None:
    """The value of `--zoom`, or None when absent or not a number."""
    raw = params(prompt).get("zoom")
    try:
        return float(raw) if raw else None
    except ValueError:
        return None


@dataclasses.dataclass(frozen=True)
class Scenario:
    """The path a task takes, chosen by `[mock:...]` markers in its prompt or `state`.

    `success` (default); `fail` (fails part way, `[mock:fail=reason]` sets failReason); `timeout`
    (stalls, then fails with 任务超时 five minutes after it started); `reject` (fails before it starts);
    `no-account` (submit answers code 3) and `error` (submit answers code 9).
    """

    name: str = "success"
    reason: str | None = None


SCENARIOS = ("success", "fail", "timeout", "reject", "no-account", "error")


def scenario_for(call: Any, *texts: str | None) -> Scenario:
    """A fault rule's `scenario` wins (its `message` is the fail reason), then the markers in `texts`."""
    fault = getattr(call, "fault", None)
    name = getattr(fault, "scenario", None)
    if name in SCENARIOS:
        message = getattr(fault, "message", "")
        return Scenario(str(name), message if message != "fault injected by mockserver" else None)
    return scenario(*texts)


def scenario(*texts: str | None) -> Scenario:
    """The first known marker in `texts` decides; none means success."""
    for text in texts:
        for match in _MARKER.finditer(text or ""):
            name = match.group(1).lower()
            if name in SCENARIOS:
                return Scenario(name, (match.group(2) or "").strip() or None)
    return Scenario()


# -- /describe and /shorten -----------------------------------------------------------------------

_SUBJECTS = (
    "a red fox",
    "an old lighthouse",
    "a quiet harbour town",
    "a paper crane",
    "a mountain cabin",
    "a bowl of ramen",
    "a vintage motorcycle",
    "a glass greenhouse",
    "a sleeping cat",
    "a desert caravan",
)
_PLACES = (
    "at golden hour",
    "under a stormy sky",
    "in soft morning fog",
    "on a rainy street",
    "beside a frozen lake",
    "in a sunlit meadow",
    "at the edge of a forest",
)
_STYLES = (
    "in the style of a watercolor illustration",
    "cinematic photography",
    "isometric 3d render",
    "muted pastel palette",
    "studio ghibli inspired",
    "high contrast ink drawing",
    "soft volumetric lighting",
    "minimalist flat design",
)
_DETAILS = ("highly detailed", "wide angle", "shallow depth of field", "warm tones", "grainy film look", "symmetrical")
_FILLER = frozenset(
    {
        *("a", "an", "the", "of", "in", "on", "at", "with", "and", "very", "really", "beautiful", "amazing"),
        *("highly", "detailed", "style", "by", "for", "to", "is", "are", "that", "this", "which", "some"),
    }
)
DIGITS = ("1️⃣", "2️⃣", "3️⃣", "4️⃣", "5️⃣")


def describe_suggestions(rng: random.Random, ratio: str = "1:1") -> list[str]:
    """Four prompts that could have made an image, as /describe offers them."""
    out = []
    for _ in range(4):
        words = [rng.choice(_SUBJECTS), rng.choice(_PLACES), rng.choice(_STYLES), rng.choice(_DETAILS)]
        out.append(", ".join(words) + f" --ar {ratio}")
    return out


def shorten_suggestions(prompt: str, rng: random.Random, count: int = 5) -> list[str]:
    """Shorter versions of `prompt`: filler words dropped, then fewer and fewer of the remaining words
    (order kept), parameters kept at the end."""
    text = _PARAM.sub("", prompt).strip()
    tail = " ".join(m.group(0) for m in _PARAM.finditer(prompt))
    words = _WORD.findall(text) or [text or "image"]
    core = [w for w in words if w.lower() not in _FILLER] or words
    out: list[str] = []
    for i in range(count):
        keep = max(1, round(len(core) * (1 - i / (count + 1))))
        if keep < len(core):
            dropped = (
                set(rng.sample(range(1, len(core)), min(len(core) - keep, len(core) - 1))) if len(core) > 1 else set()
            )
            chosen = [w for j, w in enumerate(core) if j not in dropped]
        else:
            chosen = list(core)
        candidate = " ".join(chosen) + (f" {tail}" if tail else "")
        out.append(candidate.strip())
    return out


def numbered(suggestions: list[str]) -> str:
    """Suggestions as the bot lists them: `1️⃣ ...` paragraphs."""
    return "\n\n".join(f"{DIGITS[i]} {s}" for i, s in enumerate(suggestions))


def describe_fields(suggestions: list[str]) -> dict[str, Any]:
    """What a DESCRIBE task carries: no prompt of its own, the suggested prompts, numbered as the result."""
    listed = numbered(suggestions)
    return {"prompt": "", "promptEn": "", "suggestions": suggestions, "finalPrompt": listed, "promptOnSuccess": listed}

"""What each image model accepts on `/v1/images/*`: sizes, aspect ratios, image counts, qualities, styles.

One `ImageModel` per model line, found by the model id's prefix; `check_*` functions turn a request
into concrete output settings or raise a 400 naming the field (with the gateway's error codes
`size_not_supported`, `n_not_within_range`, `prompt_too_long`).
"""

from __future__ import annotations

import dataclasses
import math
import re

from mockserver.errors import ApiError

_SIZE = re.compile(r"^\s*(\d{1,5})\s*[xX×*]\s*(\d{1,5})\s*$")

GPT_IMAGE_SIZES = ("1024x1024", "1536x1024", "1024x1536")
RECRAFT_SIZES = (
    "1024x1024",
    "1365x1024",
    "1024x1365",
    "1536x1024",
    "1024x1536",
    "1820x1024",
    "1024x1820",
    "1024x2048",
    "2048x1024",
    "1434x1024",
    "1024x1434",
    "1024x1280",
    "1280x1024",
    "1024x1707",
    "1707x1024",
)
RECRAFT_STYLES = ("realistic_image", "digital_illustration", "vector_illustration", "icon", "logo_raster", "any")
FLUX_SIZES = (
    "1024x1024",
    "1024x576",
    "1024x768",
    "1024x512",
    "512x1024",
    "512x768",
    "1280x960",
    "960x1280",
    "768x1366",
    "768x512",
    "1366x768",
    "1344x576",
)
IMAGEN_RATIOS = {"1:1": "1024x1024", "3:4": "896x1280", "4:3": "1280x896", "9:16": "768x1408", "16:9": "1408x768"}
FLUX_RATIOS = ("21:9", "16:9", "4:3", "3:2", "1:1", "2:3", "3:4", "9:16", "9:21")


@dataclasses.dataclass(frozen=True)
class ImageModel:
    """The rules of one model line (`sizes` empty: any size whose sides lie in `side_range`)."""

    name: str
    default_size: str
    sizes: tuple[str, ...] = ()
    side_range: tuple[int, int] = (64, 4096)
    max_n: int = 10
    qualities: tuple[str, ...] = ()
    styles: tuple[str, ...] = ()
    ratios: dict[str, str] = dataclasses.field(default_factory=dict)
    default_format: str = "url"
    max_prompt: int = 32000
    gpt_image: bool = False
    # DALL·E 3 rewrites every prompt and returns the rewrite as `revised_prompt`.
    revises_prompt: bool = False
    owned_by: str = "openai"


def _ratio_sizes(ratios: tuple[str, ...], megapixels: float = 1.0) -> dict[str, str]:
    """Sizes of about `megapixels` for aspect ratios such as 16:9 (sides rounded to multiples of 32)."""
    out = {}
    for ratio in ratios:
        a, b = (int(v) for v in ratio.split(":"))
        height = math.sqrt(megapixels * 1_048_576 * b / a)
        width = height * a / b
        out[ratio] = f"{round(width / 32) * 32}x{round(height / 32) * 32}"
    return out


DALL_E_3 = ImageModel(
    "dall-e-3",
    "1024x1024",
    sizes=("1024x1024", "1792x1024", "1024x1792"),
    max_n=1,
    qualities=("standard", "hd"),
    styles=("vivid", "natural"),
    max_prompt=4000,
    revises_prompt=True,
)
DALL_E_2 = ImageModel(
    "dall-e-2", "1024x1024", sizes=("256x256", "512x512", "1024x1024"), qualities=("standard",), max_prompt=1000
)
GPT_IMAGE = ImageModel(
    "gpt-image",
    "1024x1024",
    sizes=(*GPT_IMAGE_SIZES, "auto"),
    qualities=("low", "medium", "high", "auto", "standard"),
    default_format="b64_json",
    gpt_image=True,
)
QWEN_IMAGE = ImageModel("qwen-image", "1024x1024", side_range=(256, 2048), max_n=4, owned_by="qwen")
IMAGEN = ImageModel(
    "imagen", "1024x1024", sizes=tuple(IMAGEN_RATIOS.values()), max_n=4, ratios=IMAGEN_RATIOS, owned_by="google"
)
SEEDREAM = ImageModel("seedream", "1024x1024", side_range=(512, 2048), max_n=1, owned_by="doubao")
RECRAFT = ImageModel(
    "recraft", "1024x1024", sizes=RECRAFT_SIZES, max_n=6, styles=RECRAFT_STYLES, max_prompt=1000, owned_by="recraft"
)
FLUX = ImageModel(
    "flux", "1024x1024", sizes=FLUX_SIZES, max_n=4, ratios=_ratio_sizes(FLUX_RATIOS), owned_by="black-forest-labs"
)
GENERIC = ImageModel("image", "1024x1024")

_PREFIXES: tuple[tuple[str, ImageModel], ...] = (
    ("dall-e-3", DALL_E_3),
    ("dall-e-2", DALL_E_2),
    ("gpt-image", GPT_IMAGE),
    ("chatgpt-image", GPT_IMAGE),
    ("qwen-image", QWEN_IMAGE),
    ("imagen", IMAGEN),
    ("seedream", SEEDREAM),
    ("doubao-seedream", SEEDREAM),
    ("recraft", RECRAFT),
    ("flux", FLUX),
)

# Model ids the docs name (for /v1/models); any other id is served with the rules of its prefix.
DOCUMENTED_MODELS = (
    "dall-e-3",
    "dall-e-2",
    "gpt-image-1",
    "qwen-image",
    "qwen-image-edit",
    "imagen4",
    "seedream-3.0",
    "doubao-seedream-3-0-t2i-250415",
    "recraftv3",
    "flux-pro",
    "flux-dev",
    "flux-kontext-pro",
)


def image_model(model: str) -> ImageModel:
    """The rules for a model id (by prefix; unknown ids get permissive rules)."""
    low = model.lower()
    for prefix, rules in _PREFIXES:
        if low.startswith(prefix):
            return rules
    return GENERIC


def parse_size(value: str, field: str = "size") -> tuple[int, int]:
    """`"1024x768"` → (1024, 768); a 400 naming `field` for anything else."""
    m = _SIZE.match(value)
    if not m:
        raise ApiError(
            400, f"invalid {field} '{value}': expected WIDTHxHEIGHT such as 1024x1024", param=field, code="invalid_size"
        )
    return int(m.group(1)), int(m.group(2))


def check_size(rules: ImageModel, model: str, size: str | None, ratio: str | None = None) -> tuple[int, int]:
    """The output size a request asks for (`size`, else `aspect_ratio`, else the default)."""
    if size and size != "auto":
        width, height = parse_size(size)
        key = f"{width}x{height}"
        if rules.sizes and key not in rules.sizes:
            allowed = ", ".join(s for s in rules.sizes if s != "auto")
            raise ApiError(
                400,
                f"size '{size}' is not supported by {model}; use one of {allowed}",
                param="size",
                code="size_not_supported",
            )
        low, high = rules.side_range
        if not rules.sizes and not (low <= width <= high and low <= height <= high):
            raise ApiError(
                400,
                f"size '{size}' is not supported by {model}: each side must be within {low}..{high} pixels",
                param="size",
                code="size_not_supported",
            )
        return width, height
    if size == "auto" and rules.sizes and "auto" not in rules.sizes:
        raise ApiError(400, f"size 'auto' is not supported by {model}", param="size", code="size_not_supported")
    if ratio:
        if ratio not in rules.ratios:
            allowed = ", ".join(rules.ratios) or "none"
            raise ApiError(
                400,
                f"aspect_ratio '{ratio}' is not supported by {model}; use one of {allowed}",
                param="aspect_ratio",
                code="size_not_supported",
            )
        return parse_size(rules.ratios[ratio], "aspect_ratio")
    return parse_size(rules.default_size)


def check_n(rules: ImageModel, model: str, n: int) -> None:
    if not 1 <= n <= rules.max_n:
        span = "only 1" if rules.max_n == 1 else f"1..{rules.max_n}"
        raise ApiError(
            400,
            f"n={n} is not within range for {model}: {span} image(s) per request",
            param="n",
            code="n_not_within_range",
        )


def check_choice(rules_values: tuple[str, ...], value: str | None, model: str, field: str) -> None:
    """Refuse a `quality` / `style` value the model does not know (no list: anything goes)."""
    if value is None or not rules_values or value in rules_values:
        return
    raise ApiError(
        400,
        f"{field} '{value}' is not supported by {model}; use one of {', '.join(rules_values)}",
        param=field,
        code="invalid_value",
    )


def check_prompt(rules: ImageModel, model: str, prompt: str) -> None:
    if not prompt.strip():
        raise ApiError(400, "prompt is required and must not be blank", param="prompt", code="prompt_missing")
    if len(prompt) > rules.max_prompt:
        raise ApiError(
            400,
            f"prompt is {len(prompt)} characters; {model} takes at most {rules.max_prompt}",
            param="prompt",
            code="prompt_too_long",
        )


# Output tokens per gpt-image picture by quality and size (OpenAI's image pricing table).
GPT_IMAGE_OUTPUT_TOKENS = {
    "low": {"1024x1024": 272, "1024x1536": 408, "1536x1024": 400},
    "medium": {"1024x1024": 1056, "1024x1536": 1584, "1536x1024": 1568},
    "high": {"1024x1024": 4160, "1024x1536": 6240, "1536x1024": 6208},
}


def gpt_image_output_tokens(quality: str, width: int, height: int) -> int:
    table = GPT_IMAGE_OUTPUT_TOKENS.get(quality, GPT_IMAGE_OUTPUT_TOKENS["medium"])
    return table.get(f"{width}x{height}", table["1024x1024"])


def input_image_tokens(width: int, height: int) -> int:
    """Tokens an input image costs: 65 plus 129 per 512-pixel tile after fitting 2048 / 768 (as for vision)."""
    scale = min(1.0, 2048 / max(width, height))
    w, h = width * scale, height * scale
    shrink = min(1.0, 768 / min(w, h))
    tiles = math.ceil(w * shrink / 512) * math.ceil(h * shrink / 512)
    return 65 + 129 * tiles


def closest_standard_size(width: int, height: int) -> tuple[int, int]:
    """The gpt-image size whose shape is nearest an input's (what `size=auto` picks for an edit)."""
    ratio = width / height
    best = min(GPT_IMAGE_SIZES, key=lambda s: abs(math.log(ratio * parse_size(s)[1] / parse_size(s)[0])))
    return parse_size(best)

"""The price table and billing names: new-api's formula and rounding, prefixes, fallbacks, per-call prices,
pre-consumption, Midjourney model names and modes, usage in every family's shape."""

from __future__ import annotations

from mockserver.gateway.billing import mj_mode, mj_model, usage_of
from mockserver.gateway.prices import prices


def test_token_quota_follows_new_api() -> None:
    table = prices()
    # gpt-4o: (100 - 40 cached + 40 x 0.5 + 10 x 4) x 1.25 = 150
    assert table.token_quota("gpt-4o", "default", 100, 10, cached=40) == 150
    assert table.token_quota("gpt-4o", "claude", 100, 10, cached=40) == 263  # 262.5 rounds half away from zero
    assert table.token_quota("gpt-4o-mini", "default", 1, 0) == 1  # never 0 for a priced call
    assert table.token_quota("gpt-4o", "default", 0, 0) == 0


def test_lookups_prefixes_and_fallbacks() -> None:
    table = prices()
    assert table.ratio("gpt-4o-2024-08-06-custom") == table.ratio("gpt-4o-2024-08-06")
    assert table.ratio("a-model-nobody-priced").model_ratio == 37.5  # new-api's fallback ratio
    assert table.group_ratio("claude") == 1.75 and table.group_ratio("unknown-group") == 1.0
    assert table.usd_quota(0.1, "drawing") == 60_000
    assert table.estimate("gpt-4o", "default", 10, 100) == 750  # (max(10, 500) + 100) x 1.25
    assert table.format_quota(1250) == "＄0.002500"
    assert "formula" in table.describe()["sources"]


def test_midjourney_billing_names_and_modes() -> None:
    assert mj_model("mj_submit_imagine", {}) == "mj_imagine"
    assert mj_model("mj_insight_face_swap", {}) == "swap_face"
    assert mj_model("mj_submit_change", {"action": "UPSCALE"}) == "mj_upscale"
    assert mj_model("mj_submit_simple_change", {"content": "123 V2"}) == "mj_variation"
    assert mj_model("mj_submit_action", {"customId": "MJ::JOB::upsample::1::abc"}) == "mj_upscale"
    assert mj_model("mj_submit_action", {"customId": "MJ::JOB::low_variation::1::abc"}) == "mj_low_variation"
    assert mj_model("mj_submit_action", {"customId": "MJ::Outpaint::50::1::abc"}) == "mj_zoom"
    assert [mj_mode(p) for p in ("/mj/submit/imagine", "/mj-relax/mj/submit/imagine", "/mj-turbo/mj/x")] == [
        "fast",
        "relax",
        "turbo",
    ]


def test_usage_is_read_in_every_familys_shape() -> None:
    assert usage_of({"usage": {"prompt_tokens": 3, "completion_tokens": 4}}) == (3, 4, 0)
    assert usage_of({"usage": {"input_tokens": 3, "output_tokens": 4, "cache_read_input_tokens": 2}}) == (3, 4, 2)
    assert usage_of({"usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 6}}) == (5, 6, 0)
    assert usage_of({"usage": {"prompt_tokens": 3, "prompt_tokens_details": {"cached_tokens": 1}}}) == (3, 0, 1)
    assert usage_of({"data": []}) is None and usage_of(None) is None


def test_audio_tokens_are_priced_at_the_audio_ratios() -> None:
    table = prices()
    # gpt-4o-audio-preview: model ratio 1.25, completion ratio 4, audio ratio 16 (new-api's defaults).
    text_only = table.token_quota("gpt-4o-audio-preview", "default", 9, 136)
    spoken = table.token_quota("gpt-4o-audio-preview", "default", 9, 136, audio_completion=85)
    assert text_only == round((9 + 136 * 4) * 1.25)
    assert spoken == int((9 + 51 * 4 + 85 * 16) * 1.25 + 0.5) == 1966
    heard = table.token_quota("gpt-4o-audio-preview", "default", 100, 0, audio_prompt=60)
    assert heard == int((40 + 60 * 16) * 1.25 + 0.5)
    # audio counts never exceed the totals they sit in
    assert table.token_quota("gpt-4o-audio-preview", "default", 10, 0, audio_prompt=99) == 200

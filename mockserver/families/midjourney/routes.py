"""Midjourney (midjourney-proxy behind new-api, as YEScale serves it): submit jobs, press buttons, confirm
modals, fetch tasks and download their images — on `/mj/...` and the `/mj-fast`, `/mj-relax`,
`/mj-turbo` mode prefixes.

The routes of the family and its setup; the other modules: `wire` (codes, buttons, task JSON, error
envelope), `jobs` (ids, the worker pool, `submit_job`), `submit` (new jobs), `actions` (follow-ups),
`fetch` (reads), `plans` (lifecycles), `text` (prompts, markers, describe/shorten), `images` (grids,
upscales, previews). See docs/midjourney.md.
"""

from __future__ import annotations

from mockserver.errors import Envelope
from mockserver.families.midjourney import actions, fetch, submit
from mockserver.families.midjourney.callback import proxy_task
from mockserver.families.midjourney.wire import VENDOR, midjourney_envelope, render_task
from mockserver.pipeline import Endpoint, Handler
from mockserver.tasks.engine import Vendor

ENVELOPES: dict[str, Envelope] = {VENDOR: midjourney_envelope}
# fetches show the gateway's DTO; callbacks come from midjourney-proxy itself (its Task JSON)
TASK_VENDORS = [Vendor(VENDOR, render_task, callback=proxy_task)]

# The gateway serves the whole group again under each mode prefix (new-api `/:mode/mj`).
MODE_PREFIXES = ("/mj-fast", "/mj-relax", "/mj-turbo")

# (operation id, handler, path, needs a key)
OPERATIONS: tuple[tuple[str, Handler, str, bool], ...] = (
    ("mj_submit_imagine", submit.imagine, "/mj/submit/imagine", True),
    ("mj_submit_blend", submit.blend, "/mj/submit/blend", True),
    ("mj_submit_describe", submit.describe, "/mj/submit/describe", True),
    ("mj_submit_shorten", submit.shorten, "/mj/submit/shorten", True),
    ("mj_submit_change", actions.change, "/mj/submit/change", True),
    ("mj_submit_simple_change", actions.simple_change, "/mj/submit/simple-change", True),
    ("mj_submit_action", actions.action, "/mj/submit/action", True),
    ("mj_submit_modal", actions.modal, "/mj/submit/modal", True),
    ("mj_submit_upload_discord_images", submit.upload_discord_images, "/mj/submit/upload-discord-images", True),
    ("mj_insight_face_swap", submit.swap_face, "/mj/insight-face/swap", True),
    ("mj_video_submit", submit.video, "/mj/submit/video", True),
    ("mj_task_fetch", fetch.fetch, "/mj/task/{id}/fetch", True),
    ("mj_task_list_by_condition", fetch.list_by_condition, "/mj/task/list-by-condition", True),
    ("mj_task_image_seed", fetch.image_seed, "/mj/task/{id}/image-seed", True),
    ("mj_image", fetch.image, "/mj/image/{id}", False),
)

ROUTES: list[Endpoint] = [
    Endpoint(operation, handler, path=prefix + path, auth=auth)
    for operation, handler, path, auth in OPERATIONS
    for prefix in ("", *MODE_PREFIXES)
]

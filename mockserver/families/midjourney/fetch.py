"""Reading Midjourney tasks: fetch one, list by ids, the image seed, and the image bytes themselves."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import Response

from mockserver.answers import JSONAnswer
from mockserver.families.midjourney.images import task_image
from mockserver.families.midjourney.jobs import find_task, owner, refuse
from mockserver.families.midjourney.wire import OK, PARENT_STATE, SUCCESS, VALIDATION_ERROR, VENDOR, submit_result
from mockserver.pipeline import Call
from mockserver.tasks.engine import engine as task_engine


async def fetch(call: Call) -> Response:
    """`GET /mj/task/{id}/fetch`: the task now (new-api: unknown id -> 400 `task_no_found`)."""
    record = await find_task(call, call.path_params["id"], missing="task_no_found")
    return call.json(task_engine(call.state).render(record, call.now))


async def list_by_condition(call: Call) -> Response:
    """`POST /mj/task/list-by-condition {"ids": [...]}`: the caller's tasks among `ids`, unknown omitted."""
    body = call.body if isinstance(call.body, Mapping) else {}
    ids = [str(i) for i in (body.get("ids") or [])]
    engine = task_engine(call.state)
    mine = owner(call)
    records = [r for r in await engine.get_many(ids) if r.vendor == VENDOR and r.owner == mine]
    return call.json([engine.render(r, call.now) for r in records])


async def image_seed(call: Call) -> Response:
    """`GET /mj/task/{id}/image-seed`: the seed of a finished job's image (code 4 before it finished)."""
    record = await find_task(call, call.path_params["id"], missing="task_no_found")
    current = task_engine(call.state).view(record, call.now)
    if current.status != "SUCCESS" or not record.data.get("image"):
        return refuse(call, VALIDATION_ERROR, PARENT_STATE)
    return call.json(submit_result(SUCCESS, OK, str(int(record.data.get("seed", 0)) % 2**32)))


async def image(call: Call) -> Response:
    """`GET /mj/image/{id}`: the task's picture as new-api forwards it (no key needed): the final image
    once the job succeeded, a blurred preview while it runs."""
    record = await task_engine(call.state).get(call.path_params["id"])
    if record is None or record.vendor != VENDOR:
        return JSONAnswer({"error": "midjourney_task_not_found"}, 400)
    found = task_image(task_engine(call.state).view(record, call.now))
    if found is None:
        return JSONAnswer({"error": "midjourney_image_not_ready"}, 404)
    data, content_type = found
    return Response(data, media_type=content_type, headers={"Cache-Control": "no-cache"})

"""The YEScale System API (`/yescale/*`): the account, its API keys, tasks and usage logs.

Answers use the `{success, message, data}` envelope and the dashboard access token (`Authorization:
Bearer <ACCESS_KEY>`); an `sk-` API key is refused as the real service refuses it. State lives in
`mockserver.families.shared.account` and the gateway (keys can be deleted and re-budgeted; logs are the
gateway's usage log) and
`POST /__mock/reset` restores it.
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

from starlette.responses import Response

from mockserver.errors import ApiError, Envelope
from mockserver.families.shared.account import Account, log_rows, setup_account, spent
from mockserver.pipeline import Call, Endpoint
from mockserver.state import MockState
from mockserver.stores.keys import STATUS_ENABLED, STATUS_EXHAUSTED, GatewayKey

_TASK_KINDS = (
    ("MIDJOURNEY", "IMAGINE"),
    ("MIDJOURNEY", "UPSCALE"),
    ("suno", "MUSIC"),
    ("kling", "generate"),
    ("runway", "generate"),
    ("luma", "generate"),
)


def system_envelope(err: ApiError, request_id: str) -> tuple[int, Any]:
    """`{"success": false, "message"}` as the YEScale System API answers."""
    return err.status, {"success": False, "message": err.message, **err.extra}


ENVELOPES: dict[str, Envelope] = {"yescale": system_envelope}

_SAMPLE_TASKS = 12
_TASK_SPAN = 14 * 86_400


def setup(state: MockState) -> None:
    """Create the account (and its reset hook) when the app starts."""
    setup_account(state)


def _account(call: Call) -> Account:
    """The account, after checking the caller sent an access token rather than an API key."""
    if call.api_key.startswith("sk-"):
        raise call.error(
            401,
            "Unauthorized: access token is invalid. The System API takes the dashboard access token, "
            "not an sk- API key.",
        )
    return setup_account(call.state)


async def _key_id(call: Call, account: Account) -> GatewayKey:
    raw = call.path_params["key_id"]
    if not raw.isdigit() or len(raw) > 12:
        raise call.error(400, f"Invalid key_id {raw!r}: expected a whole number (the id from /yescale/apikeylist)")
    key = await (await account.gateway.ready()).get(int(raw))
    if key is None:
        raise call.error(404, f"API key {raw} does not exist")
    return key


def _key_view(key: GatewayKey, user_id: int) -> dict[str, Any]:
    """A key as new-api's token list shows it, with the quota the gateway has charged so far."""
    return {
        "id": key.id,
        "user_id": user_id,
        "key": key.masked(),
        "status": key.status,
        "name": key.name,
        "created_time": key.created_time,
        "accessed_time": key.accessed_time,
        "expired_time": key.expired_time,
        "remain_quota": key.remain_quota,
        "unlimited_quota": key.unlimited_quota,
        "model_limits_enabled": bool(key.model_limits),
        "model_limits": ",".join(key.model_limits),
        "allow_ips": "\n".join(key.allow_ips),
        "used_quota": key.used_quota,
        "group": key.group,
        "DeletedAt": None,
    }


def _page(call: Call, items: list[dict[str, Any]], default_size: int) -> dict[str, Any]:
    page = call.query.get("p", 1)
    size = call.query.get("page_size", default_size)
    start = (page - 1) * size
    return {"page": page, "page_size": size, "total": len(items), "items": items[start : start + size]}


async def get_user(call: Call) -> Response:
    """The account, its quota moved by every call the gateway charged."""
    account = _account(call)
    user = account.user
    quota, calls = await spent(call.state)
    data = {
        "access_token": call.api_key,
        "display_name": user.display_name,
        "email": user.email,
        "quota": user.quota - quota,
        "request_count": user.request_count + calls,
        "role": user.role,
        "telegram_id": user.telegram_id,
        "used_quota": user.used_quota + quota,
        "username": user.username,
    }
    return call.json({"success": True, "message": "", "data": data})


async def list_api_keys(call: Call) -> Response:
    """The live keys, filtered by name (`keyword`) or key tail (`token`)."""
    account = _account(call)
    store = await account.gateway.ready()
    await store.refresh(call.now)
    keyword = str(call.query.get("keyword") or "").lower()
    token = str(call.query.get("token") or "")
    token_tail = token.removeprefix("sk-")[-4:]
    keys = [
        _key_view(key, account.user.id)
        for key in await store.all_keys()
        if keyword in key.name.lower() and (not token_tail or key.secret[-4:] == token_tail)
    ]
    return call.json({"success": True, "message": "", "data": keys})


async def delete_api_key(call: Call) -> Response:
    """Remove a key (until `POST /__mock/reset`): calls with it are refused from now on."""
    account = _account(call)
    key = await _key_id(call, account)
    await (await account.gateway.ready()).remove(key.id)
    return call.json({"success": True, "message": ""})


async def edit_key_quota(call: Call) -> Response:
    """Set a key's remaining quota; later calls count against the new figure (an exhausted key with
    quota again is enabled, as new-api's token update allows)."""
    account = _account(call)
    key = await _key_id(call, account)
    remain = call.body["remain_quota"]
    changes: dict[str, Any] = {"remain_quota": remain}
    if key.status == STATUS_EXHAUSTED and remain > 0:
        changes["status"] = STATUS_ENABLED
    await (await account.gateway.ready()).update(key.id, changes)
    return call.json({"success": True, "message": ""})


def _sample_tasks(account: Account) -> list[dict[str, Any]]:
    """A fixed, seed-determined history of async tasks in the two weeks before the clock's start."""
    rng = random.Random(f"yescale-tasks|{account.seed}")
    tasks: list[dict[str, Any]] = []
    for i in range(_SAMPLE_TASKS):
        platform, action = rng.choice(_TASK_KINDS)
        submitted = account.start - rng.randint(600, _TASK_SPAN)
        failed = rng.random() < 0.15
        finished = submitted + rng.randint(20, 400)
        digest = hashlib.blake2b(f"{account.seed}|task|{i}".encode(), digest_size=8).hexdigest()
        task_id = str(int(digest, 16) % 10**16) if platform == "MIDJOURNEY" else digest
        tasks.append(
            {
                "id": 4000 + i,
                "created_at": submitted,
                "updated_at": finished,
                "task_id": task_id,
                "platform": platform,
                "user_id": account.user.id,
                "channel_id": 1 + i % 3,
                "quota": 0 if failed else rng.randint(5, 60) * 1000,
                "action": action,
                "status": "FAILURE" if failed else "SUCCESS",
                "fail_reason": "upstream task failed" if failed else "",
                "submit_time": submitted,
                "start_time": submitted + 2,
                "finish_time": finished,
                "progress": "100%",
                "properties": {},
                "data": None,
            }
        )
    tasks.sort(key=lambda t: int(t["submit_time"]), reverse=True)
    return tasks


async def list_tasks(call: Call) -> Response:
    """The sample tasks submitted inside [start_timestamp, end_timestamp], newest first, paged."""
    account = _account(call)
    start, end = call.query["start_timestamp"], call.query["end_timestamp"]
    if start > end:
        raise call.error(400, "start_timestamp must not be after end_timestamp")
    tasks = [t for t in _sample_tasks(account) if start <= t["submit_time"] <= end]
    return call.json({"success": True, "message": "", "data": _page(call, tasks, 100)})


async def list_logs(call: Call) -> Response:
    """The gateway's usage log as new-api's log rows, newest first, filtered and paged."""
    _account(call)
    query = call.query
    start, end = query.get("start_timestamp"), query.get("end_timestamp")
    if start is not None and end is not None and start > end:
        raise call.error(400, "start_timestamp must not be after end_timestamp")
    rows = []
    for row in reversed(await log_rows(call.state)):
        if query.get("type") and row["type"] != query["type"]:
            continue
        if query.get("token_name") and row["token_name"] != query["token_name"]:
            continue
        if query.get("model_name") and query["model_name"] not in row["model_name"]:
            continue
        if query.get("username") and row["username"] != query["username"]:
            continue
        if (start is not None and row["created_at"] < start) or (end is not None and row["created_at"] > end):
            continue
        rows.append(row)
    return call.json({"success": True, "message": "", "data": _page(call, rows, 10_000)})


ROUTES = [
    Endpoint("yescale_get_user", get_user),
    Endpoint("yescale_list_api_keys", list_api_keys),
    Endpoint("yescale_delete_api_key", delete_api_key),
    Endpoint("yescale_edit_key_quota", edit_key_quota),
    Endpoint("yescale_list_tasks", list_tasks),
    Endpoint("yescale_list_logs", list_logs),
]

"""The OpenAI-legacy billing routes new-api keeps: `/v1/dashboard/billing/subscription` and `/usage`.

Figures come from the same account the System API shows, so both agree: the credit (remaining + used)
as the limit, the used credit in US cents as the usage.
"""

from __future__ import annotations

import datetime

from starlette.responses import Response

from mockserver.families.shared.account import QUOTA_PER_USD, setup_account, spent
from mockserver.pipeline import Call, Endpoint
from mockserver.state import MockState


def setup(state: MockState) -> None:
    """Share the System API's account (created once per app)."""
    setup_account(state)


async def _used_quota(call: Call) -> tuple[int, int]:
    """(remaining, used) quota of the account after the calls the gateway charged."""
    account = setup_account(call.state)
    quota, _ = await spent(call.state)
    return account.user.quota - quota, account.user.used_quota + quota


async def billing_subscription(call: Call) -> Response:
    """The account's credit (remaining + used) in USD, as new-api reports it."""
    remaining, used = await _used_quota(call)
    limit = round((remaining + used) / QUOTA_PER_USD, 6)
    return call.json(
        {
            "object": "billing_subscription",
            "has_payment_method": True,
            "soft_limit_usd": limit,
            "hard_limit_usd": limit,
            "system_hard_limit_usd": limit,
            "access_until": 0,
        }
    )


def _date(call: Call, name: str) -> datetime.date | None:
    value = call.query.get(name)
    if value is None:
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise call.error(400, f"{name} must be a date as YYYY-MM-DD, got {value!r}", param=name) from None


async def billing_usage(call: Call) -> Response:
    """The used credit in US cents (dates are checked, not used to filter, as in new-api)."""
    start, end = _date(call, "start_date"), _date(call, "end_date")
    if start and end and start > end:
        raise call.error(400, "start_date must not be after end_date", param="start_date")
    _, used = await _used_quota(call)
    return call.json({"object": "list", "total_usage": round(used / QUOTA_PER_USD * 100, 4)})


# new-api's router/dashboard.go serves both routes with and without the /v1 prefix.
ROUTES = [
    Endpoint("billing_subscription", billing_subscription),
    Endpoint("billing_subscription", billing_subscription, path="/dashboard/billing/subscription"),
    Endpoint("billing_usage", billing_usage),
    Endpoint("billing_usage", billing_usage, path="/dashboard/billing/usage"),
]

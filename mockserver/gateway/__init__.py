"""The gateway layer every relay route passes: keys, quota, prices, rate limits and usage logs (new-api's own
behaviour, in front of the vendors'). `install(state)` sets it up; the pipeline calls `admit` and `settle`."""

from __future__ import annotations

from mockserver.gateway.core import Gateway, GatewayError, gateway_of, install
from mockserver.gateway.keys import KeySpecError, secret_of
from mockserver.gateway.prices import PriceTable, prices

__all__ = ["Gateway", "GatewayError", "KeySpecError", "PriceTable", "gateway_of", "install", "prices", "secret_of"]

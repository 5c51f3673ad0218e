"""Media links when the server has keys: served to a known key, or to a link carrying its signature.

With `--api-key`/`--keys`, `/__mock/media/...` and `/mj/image/{id}` would otherwise hand generated media
(and the work of generating it) to anyone. Links the emulator hands out carry `?sig=`: an HMAC of the
link's path keyed by a secret derived from the seed and the start-up keys, so every worker with the same
settings signs alike and nobody without a key can forge or edit one.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Mapping

from mockserver.content.links import LINK_SIGNER

_SIG_CHARS = 32
_KEY_HEADERS = ("mj-api-secret", "x-api-key", "x-goog-api-key")


class LinkSigner:
    """Signs and checks link paths."""

    def __init__(self, seed: int, secrets: Iterable[str]) -> None:
        material = f"{seed}|" + "|".join(sorted(secrets))
        self._key = hashlib.blake2b(material.encode(), digest_size=32, person=b"mockserver-link").digest()

    def sign(self, path: str) -> str:
        return hmac.new(self._key, path.encode(), hashlib.sha256).hexdigest()[:_SIG_CHARS]

    def valid(self, path: str, signature: str) -> bool:
        return hmac.compare_digest(self.sign(path), signature[:64])

    def activate(self) -> None:
        """Sign the links made from here on in this context (a request, or the callback dispatcher)."""
        LINK_SIGNER.set(self.sign)


def sent_key(headers: Mapping[str, str], query: Mapping[str, str]) -> str:
    """A key sent with a media request, wherever a client may put one."""
    auth = headers.get("authorization", "").strip()
    scheme, _, token = auth.partition(" ")
    if token.strip() and scheme.lower() == "bearer":
        return token.strip()
    for name in _KEY_HEADERS:
        if headers.get(name, "").strip():
            return headers[name].strip()
    return str(query.get("key", "")).strip()


def sent_control_token(headers: Mapping[str, str]) -> str:
    """The control token a request carries (`x-mock-token`, or Bearer as the control API takes it)."""
    return headers.get("x-mock-token", "").strip() or sent_key(headers, {})


def allowed(
    signer: LinkSigner, known: Callable[[str], bool], path: str, headers: Mapping[str, str], query: Mapping[str, str]
) -> bool:
    """Whether a media request may be served: a known key, or a valid signature of its path."""
    key = sent_key(headers, query)
    if key and known(key):
        return True
    signature = str(query.get("sig", ""))
    return bool(signature) and signer.valid(path, signature)

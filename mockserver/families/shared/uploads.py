"""Uploaded files of multipart operations: find them, read them, refuse what is missing or not an image.

Shared by the audio, images, Ideogram and Recraft families; every refusal is a 400 naming the field.
"""

from __future__ import annotations

import dataclasses
from pathlib import PurePosixPath

from starlette.concurrency import run_in_threadpool

from mockserver.content.derived import NotAnImage, UploadedImage, open_image
from mockserver.errors import ApiError
from mockserver.pipeline import Call


@dataclasses.dataclass(frozen=True)
class Upload:
    """One uploaded file: the form field it came in, its name, declared type and bytes."""

    field: str
    filename: str
    content_type: str
    data: bytes

    @property
    def extension(self) -> str:
        return PurePosixPath(self.filename).suffix.lower().lstrip(".")


async def read_files(call: Call, *fields: str) -> list[Upload]:
    """Every file uploaded under any of `fields` (in that order); [] when there is none."""
    out: list[Upload] = []
    for field in fields:
        for upload in call.files.get(field, []):
            data = await upload.read()
            out.append(Upload(field, upload.filename or "", upload.content_type or "", data))
    return out


async def require_file(call: Call, *fields: str) -> Upload:
    """The single file under the first of `fields` that has one; a 400 naming the field otherwise."""
    uploads = await read_files(call, *fields)
    field = fields[0]
    if not uploads:
        body = call.body if isinstance(call.body, dict) else {}
        given = next((f for f in fields if f in body), None)
        if given is not None:
            raise ApiError(400, f"'{given}' must be a file upload (multipart file part), not a text field", param=given)
        raise ApiError(400, f"'{field}' is required: upload it as a multipart file part", param=field)
    if not uploads[0].data:
        raise ApiError(400, f"the uploaded '{uploads[0].field}' file is empty", param=uploads[0].field)
    return uploads[0]


async def decode_image(upload: Upload, *, formats: tuple[str, ...] = ("png", "jpeg", "webp")) -> UploadedImage:
    """Decode an uploaded image of one of `formats` (in a worker thread); a 400 naming its field otherwise."""
    try:
        image = await run_in_threadpool(open_image, upload.data)
    except NotAnImage as exc:
        raise ApiError(
            400, f"invalid image in '{upload.field}': {exc}", param=upload.field, code="invalid_image_format"
        ) from None
    if image.fmt not in formats:
        allowed = ", ".join(formats)
        raise ApiError(
            400,
            f"invalid image in '{upload.field}': {image.fmt} is not supported (use {allowed})",
            param=upload.field,
            code="invalid_image_format",
        )
    return image

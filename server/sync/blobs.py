"""Blobs (sync-protocol §3): signatures and photos, content-addressed by their SHA-256.

PUT /sync/blobs/{sha256}?kind=signature|photo checks the size (413), the hash of the bytes
sent and their type by magic bytes (422), strips EXIF/GPS from photos by re-encoding them,
and writes the file atomically (temporary file, fsync, rename) before its row, so a row always
means the bytes are on disk. The blob keeps the name it was sent under either way.
GET /sync/blobs/{sha256} (and /api/blobs/{sha256}) serves it only to those who may see an
order that names it; a blob no order names yet only to its uploader.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import re
import tempfile
from pathlib import Path

from litestar.params import FromPath
from litestar import Request, Response, get, put
from litestar.exceptions import ClientException, NotFoundException

from server.accounts.guards import signed_in
from server.accounts.rules import TECHNICIAN, VIEW_WORK_ORDERS, CurrentUser
from server.accounts.service import utcnow
from server.i18n import gettext as _
from server.sync.blob_tables import Blob
from server.sync.devices import device_rate_limit
from server.workorders.tables import WorkOrder

KINDS = ("signature", "photo")
MAX_BYTES = {"signature": 256 * 1024, "photo": 4 * 1024 * 1024}
CONTENT_TYPES = {"signature": ("image/png",), "photo": ("image/png", "image/jpeg")}
MAGIC = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff"}
PIL_FORMATS = {"image/png": "PNG", "image/jpeg": "JPEG"}
SHA256_RE = re.compile(r"^[0-9a-fA-F]{64}$")
# Image metadata that can say where and when a photo was taken, or by which device.
METADATA_KEYS = ("exif", "xmp", "XML:com.adobe.xmp", "photoshop", "iptc")


def _unprocessable(message: str) -> ClientException:
    return ClientException(status_code=422, detail=message)


class TooLarge(Exception):
    pass


def _too_large_response(kind: str) -> Response:
    """413 saying the limit of this kind (answered directly: the generic handler would
    replace the message with a general one)."""
    limit_kib = MAX_BYTES[kind] // 1024
    message = (_("A signature may be at most %(n)s KiB.", n=limit_kib) if kind == "signature"
               else _("A photo may be at most %(n)s MiB.", n=limit_kib // 1024))
    return Response({"error": "too_large", "message": message}, status_code=413,
                    headers={"Connection": "close"})


def relative_path(sha256: str) -> str:
    return f"{sha256[:2]}/{sha256}"


def has_magic(content_type: str, data: bytes) -> bool:
    return data.startswith(MAGIC[content_type])


def strip_metadata(data: bytes, content_type: str) -> bytes | None:
    """A re-encoded copy without EXIF/GPS/XMP when the image carries any; None when it carries
    none (or cannot be decoded and shows no EXIF marker). Raises ValueError when it carries
    metadata but cannot be decoded, so it cannot be cleaned."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
        carries = any(key in image.info for key in METADATA_KEYS) or len(image.getexif()) > 0
    except Image.DecompressionBombError as exc:
        raise ValueError("too many pixels") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        if b"Exif\x00\x00" in data[:65536]:
            raise ValueError("metadata in an image that cannot be decoded")
        return None
    if not carries:
        return None
    try:
        image.load()
        clean = ImageOps.exif_transpose(image)  # keep what the camera meant by "up"
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ValueError("cannot decode") from exc
    icc = image.info.get("icc_profile")
    clean.info = {}
    out = io.BytesIO()
    options: dict = {"icc_profile": icc} if icc else {}
    if content_type == "image/jpeg":
        if clean.mode not in ("RGB", "L", "CMYK"):
            clean = clean.convert("RGB")
        clean.save(out, "JPEG", quality=90, **options)
    else:
        clean.save(out, "PNG", **options)
    return out.getvalue()


def write_atomically(target: Path, data: bytes) -> None:
    """Temporary file in the same folder, fsync, rename over the target, fsync the folder."""
    folder = target.parent
    folder.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".upload-")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, target)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    folder_handle = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(folder_handle)
    finally:
        os.close(folder_handle)


# Blobs this process has seen stored. Blobs are never deleted, so "present" stays true and
# a push naming them needs no query (a connection of its own on SQLite).
_known_present: set[str] = set()
KNOWN_PRESENT_MAX = 100_000


def _remember(sha256: str) -> None:
    if len(_known_present) >= KNOWN_PRESENT_MAX:
        _known_present.clear()
    _known_present.add(sha256)


async def blobs_present(shas: list[str]) -> set[str]:
    """Which of these blobs the server holds (one query at most, for a whole push)."""
    wanted = {s.lower() for s in shas if isinstance(s, str) and SHA256_RE.match(s)}
    present = wanted & _known_present
    unknown = sorted(wanted - present)
    if unknown:
        for row in await Blob.select(Blob.sha256).where(Blob.sha256.is_in(unknown)):
            _remember(row["sha256"])
            present.add(row["sha256"])
    return present


async def blob_exists(sha256: str) -> bool:
    """Whether the server holds this blob (the push's `blob_missing` check)."""
    return bool(await blobs_present([sha256]))


async def _read_body(request: Request, kind: str) -> bytes:
    limit = MAX_BYTES[kind]
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge
    received = bytearray()
    async for chunk in request.stream():
        received.extend(chunk)
        if len(received) > limit:
            raise TooLarge
    return bytes(received)


@put("/sync/blobs/{sha256:str}", name="sync_put_blob", guards=[signed_in, device_rate_limit],
     request_max_body_size=2 * MAX_BYTES["photo"], status_code=201)
async def put_blob(request: Request, sha256: FromPath[str]) -> Response:
    kind = request.query_params.get("kind", "")
    if kind not in KINDS:
        raise _unprocessable(_("Say what the file is: kind=signature or kind=photo."))
    if not SHA256_RE.match(sha256):
        raise _unprocessable(_("The address must end in the file's SHA-256, 64 hexadecimal digits."))
    sha256 = sha256.lower()
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in CONTENT_TYPES[kind]:
        raise _unprocessable(_("A signature must be a PNG image.") if kind == "signature"
                             else _("A photo must be a PNG or JPEG image."))
    try:
        data = await _read_body(request, kind)
    except TooLarge:
        return _too_large_response(kind)
    if hashlib.sha256(data).hexdigest() != sha256:
        raise _unprocessable(_("The file's SHA-256 does not match its address: it was damaged on the way. Send it again."))
    if not has_magic(content_type, data):
        raise _unprocessable(_("The file is not the image type it claims to be."))

    settings = request.app.state.settings
    target = Path(settings.blob_dir) / relative_path(sha256)
    existing = await Blob.select(Blob.id).where(Blob.sha256 == sha256).first()
    if existing and target.is_file():
        _remember(sha256)
        return Response({"sha256": sha256, "kind": kind, "stored": False}, status_code=200)
    stored = data
    if kind == "photo":
        try:
            cleaned = await asyncio.to_thread(strip_metadata, data, content_type)
        except ValueError:
            raise _unprocessable(_("The photo could not be read. Take it again."))
        stored = cleaned if cleaned is not None else data
    await asyncio.to_thread(write_atomically, target, stored)
    if not existing:
        user: CurrentUser = request.scope["user"]
        await Blob.insert(Blob(sha256=sha256, kind=kind, content_type=content_type, size=len(stored),
                               path=relative_path(sha256), stripped=stored is not data,
                               uploaded_by=user.id, created_at=utcnow())
                          ).on_conflict(target=Blob.sha256, action="DO NOTHING")
    _remember(sha256)
    return Response({"sha256": sha256, "kind": kind, "stored": True}, status_code=201)


def may_see_order(user: CurrentUser, order: dict) -> bool:
    """Technicians see the orders assigned to them now; office roles their branch's orders
    (every branch for head office)."""
    if user.role == TECHNICIAN:
        return order["assigned_to"] == user.id
    return user.role in VIEW_WORK_ORDERS and user.may_see_branch(order["branch"])


async def orders_naming(sha256: str) -> list[int]:
    """Ids of the work orders whose photos or sign-offs name this blob."""
    from server.sync.tables import Photo, SignOff  # the push's fact tables

    ids = {row["work_order"] for row in await Photo.select(Photo.work_order).where(Photo.sha256 == sha256)}
    ids.update(row["work_order"] for row in await SignOff.select(SignOff.work_order).where(
        SignOff.signature_sha256 == sha256))
    return sorted(ids)


async def may_read(user: CurrentUser, blob: dict) -> bool:
    order_ids = await orders_naming(blob["sha256"])
    if not order_ids:
        return blob["uploaded_by"] == user.id
    orders = await WorkOrder.select(WorkOrder.id, WorkOrder.branch, WorkOrder.assigned_to).where(
        WorkOrder.id.is_in(order_ids))
    return any(may_see_order(user, order) for order in orders)


@get(["/sync/blobs/{sha256:str}", "/api/blobs/{sha256:str}"], name="get_blob", guards=[signed_in])
async def get_blob(request: Request, sha256: FromPath[str]) -> Response:
    missing = NotFoundException(detail=_("There is no such file, or you may not see it."))
    if not SHA256_RE.match(sha256):
        raise missing
    blob = await Blob.select().where(Blob.sha256 == sha256.lower()).first()
    if blob is None or not await may_read(request.scope["user"], blob):
        raise missing
    path = Path(request.app.state.settings.blob_dir) / blob["path"]
    try:
        data = await asyncio.to_thread(path.read_bytes)
    except FileNotFoundError:
        raise missing
    return Response(data, media_type=blob["content_type"], headers={
        "ETag": f'"{blob["sha256"]}"', "Cache-Control": "private, max-age=31536000, immutable",
        "X-Content-Type-Options": "nosniff"})


route_handlers = [put_blob, get_blob]

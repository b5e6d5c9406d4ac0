"""Blobs (sync-protocol §3): content-addressed upload of signatures and photos."""

from __future__ import annotations

import hashlib
import io
import secrets
import uuid
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest
from PIL import Image

from server.accounts.service import create_user
from tests.conftest import sign_in

PASSWORD = "blob-pass-1"


def png(size=(120, 60), colour=(0, 0, 0)) -> bytes:
    buffer = io.BytesIO()
    image = Image.new("RGB", size, (255, 255, 255))
    image.paste(colour, (10, 10, 60, 40))
    image.save(buffer, "PNG")
    return buffer.getvalue()


def jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0112] = 6  # orientation: rotated
    exif[0x8825] = {1: "N", 2: (31.0, 14.0, 3.5), 3: "E", 4: (121.0, 28.0, 12.0)}  # GPS
    buffer = io.BytesIO()
    Image.new("RGB", (80, 40), (30, 120, 200)).save(buffer, "JPEG", exif=exif.tobytes(), quality=90)
    return buffer.getvalue()


def plain_jpeg(seed: int = 0) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (seed % 256, 80, 160)).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def unique_png() -> bytes:
    return png(colour=tuple(secrets.randbelow(256) for _ in range(3)))


def put(url: str, token: str, data: bytes, kind: str, content_type: str = "image/png",
        name: str | None = None, **headers) -> httpx.Response:
    return httpx.put(f"{url}/sync/blobs/{name or sha(data)}", params={"kind": kind}, content=data,
                     headers={"Authorization": f"Bearer {token}", "Content-Type": content_type, **headers},
                     timeout=30)


def register(url: str, username: str, password: str = PASSWORD) -> dict:
    response = httpx.post(url + "/sync/devices", json={"username": username, "password": password,
                                                       "device_name": "blob test"})
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture(scope="module")
async def techs(db):
    names = {}
    for key in ("a", "b"):
        names[key] = f"blob_{key}_{secrets.token_hex(3)}"
        await create_user(names[key], PASSWORD, "technician", branch_code="SH-C")
    return names


@pytest.fixture(scope="module")
def device(live_server, techs):
    return register(live_server.url, techs["a"])


def get(url: str, sha256: str, token: str | None = None, client: httpx.Client | None = None,
        prefix: str = "/sync/blobs/") -> httpx.Response:
    if client is not None:
        return client.get(prefix + sha256)
    return httpx.get(url + prefix + sha256, headers={"Authorization": f"Bearer {token}"})


def test_a_signature_is_stored_once_and_served_back_to_its_uploader(live_server, device, database_settings):
    data = unique_png()
    first = put(live_server.url, device["token"], data, "signature")
    assert first.status_code == 201, first.text
    again = put(live_server.url, device["token"], data, "signature")
    assert again.status_code == 200
    served = get(live_server.url, sha(data), device["token"])
    assert served.status_code == 200
    assert served.content == data and served.headers["content-type"].startswith("image/png")
    assert get(live_server.url, sha(data), device["token"], prefix="/api/blobs/").content == data
    # stored in the data folder's blob directory, with no temporary file left beside it
    stored = [p for p in Path(database_settings.blob_dir).rglob("*") if p.is_file()]
    assert any(p.name == sha(data) and p.read_bytes() == data for p in stored)
    assert not [p for p in stored if p.name.startswith(".upload-")]


def test_an_upper_case_name_is_the_same_blob(live_server, device):
    data = unique_png()
    assert put(live_server.url, device["token"], data, "signature", name=sha(data).upper()).status_code == 201
    assert put(live_server.url, device["token"], data, "signature").status_code == 200


def test_a_wrong_hash_or_type_is_422_and_nothing_is_stored(live_server, device):
    data = unique_png()
    other = unique_png()
    en = {"Accept-Language": "en"}
    wrong_hash = put(live_server.url, device["token"], data, "signature", name=sha(other), **en)
    assert wrong_hash.status_code == 422 and "SHA-256" in wrong_hash.json()["message"]
    jpeg = plain_jpeg(7)
    claims_png = put(live_server.url, device["token"], jpeg, "photo", content_type="image/png", **en)
    assert claims_png.status_code == 422 and "not the image type" in claims_png.json()["message"]
    signature_as_jpeg = put(live_server.url, device["token"], jpeg, "signature", content_type="image/jpeg", **en)
    assert signature_as_jpeg.status_code == 422 and "PNG" in signature_as_jpeg.json()["message"]
    text = b"GIF89a is not allowed either"
    assert put(live_server.url, device["token"], text, "photo", content_type="image/gif").status_code == 422
    assert put(live_server.url, device["token"], data, "drawing").status_code == 422
    assert put(live_server.url, device["token"], data, "photo", name="abc").status_code == 422
    zh = put(live_server.url, device["token"], data, "signature", name=sha(other))
    assert zh.json()["error"] == "invalid_input" and "SHA-256" in zh.json()["message"] and "损坏" in zh.json()["message"]
    for name in (sha(data), sha(other), sha(jpeg)):
        assert get(live_server.url, name, device["token"]).status_code == 404


def test_size_limits_answer_413(live_server, device):
    big_signature = b"\x89PNG\r\n\x1a\n" + secrets.token_bytes(256 * 1024)
    response = put(live_server.url, device["token"], big_signature, "signature", **{"Accept-Language": "en"})
    assert response.status_code == 413 and "256 KiB" in response.json()["message"]
    at_limit = b"\x89PNG\r\n\x1a\n" + secrets.token_bytes(256 * 1024 - 8)
    assert put(live_server.url, device["token"], at_limit, "signature").status_code == 201
    big_photo = b"\xff\xd8\xff\xe0" + secrets.token_bytes(4 * 1024 * 1024)
    assert put(live_server.url, device["token"], big_photo, "photo", content_type="image/jpeg").status_code == 413

    # without a Content-Length (chunked), the limit holds while reading
    def chunks():
        yield b"\x89PNG\r\n\x1a\n"
        for _ in range(40):
            yield secrets.token_bytes(8192)

    streamed = httpx.put(f"{live_server.url}/sync/blobs/{'a' * 64}", params={"kind": "signature"},
                         content=chunks(), headers={"Authorization": f"Bearer {device['token']}",
                                                    "Content-Type": "image/png"})
    assert streamed.status_code == 413


def test_a_photo_with_gps_is_stored_re_encoded_without_metadata_under_its_name(live_server, device):
    data = jpeg_with_gps()
    assert len(Image.open(io.BytesIO(data)).getexif()) > 0
    assert put(live_server.url, device["token"], data, "photo", content_type="image/jpeg").status_code == 201
    served = get(live_server.url, sha(data), device["token"])
    assert served.status_code == 200 and served.content != data
    image = Image.open(io.BytesIO(served.content))
    assert image.format == "JPEG"
    assert len(image.getexif()) == 0 and "exif" not in image.info
    assert b"PhoneMaker" not in served.content and b"Exif\x00\x00" not in served.content
    assert image.size == (40, 80)  # turned the way the camera meant
    # sending the original again: it is already there
    assert put(live_server.url, device["token"], data, "photo", content_type="image/jpeg").status_code == 200


def test_a_photo_without_metadata_is_kept_byte_for_byte(live_server, device):
    data = plain_jpeg(secrets.randbelow(256))
    assert put(live_server.url, device["token"], data, "photo", content_type="image/jpeg").status_code in (200, 201)
    assert get(live_server.url, sha(data), device["token"]).content == data


def test_a_blob_no_order_names_is_served_only_to_its_uploader(live_server, device, techs, login):
    data = unique_png()
    assert put(live_server.url, device["token"], data, "signature").status_code == 201
    other = register(live_server.url, techs["b"])
    assert get(live_server.url, sha(data), other["token"]).status_code == 404
    assert get(live_server.url, sha(data), client=login("supervisor")).status_code == 404
    # the uploader with a browser session too
    assert get(live_server.url, sha(data), client=sign_in(live_server.url, techs["a"], PASSWORD)).status_code == 200
    assert httpx.get(live_server.url + "/sync/blobs/" + sha(data)).status_code == 401


async def _order_for(username: str) -> int:
    from server.accounts.tables import Branch, User
    from server.workorders.tables import WorkOrder

    branch = await Branch.select(Branch.id).where(Branch.code == "SH-C").first()
    user = await User.select(User.id).where(User.username == username).first()
    now = datetime.now(timezone.utc)
    order = WorkOrder(number=f"WO-BLOB-{secrets.token_hex(4)}", branch=branch["id"], category="C", zone="urban",
                      description="blob test", status="in_progress", assigned_to=user["id"], received_at=now,
                      dispatched_at=now, created_at=now, updated_at=now)
    await order.save()
    return order.id


async def test_a_photo_named_by_an_order_is_served_to_who_may_see_the_order(live_server, device, techs, login, db):
    order_id = await _order_for(techs["a"])
    data = plain_jpeg(secrets.randbelow(256) + 1000)
    assert put(live_server.url, device["token"], data, "photo", content_type="image/jpeg").status_code in (200, 201)
    push = httpx.post(live_server.url + "/sync/push", headers={"Authorization": f"Bearer {device['token']}"}, json={
        "device_id": device["device_id"], "schema_version": 1, "clock_offset_ms": 0,
        "mutations": [{"id": str(uuid.uuid4()), "seq": 1, "name": "attach_photo", "base_version": None,
                       "captured_at": datetime.now(timezone.utc).isoformat(),
                       "args": {"work_order_id": order_id, "photo_id": str(uuid.uuid4()),
                                "sha256": sha(data), "caption": "铭牌"}}]})
    assert push.status_code == 200, push.text
    assert push.json()["results"][0]["status"] == "applied", push.text
    assert get(live_server.url, sha(data), client=login("supervisor")).status_code == 200
    assert get(live_server.url, sha(data), client=login("hq")).status_code == 200
    assert get(live_server.url, sha(data), client=login("supervisor2")).status_code == 404
    assert get(live_server.url, sha(data), register(live_server.url, techs["b"])["token"]).status_code == 404
    assert get(live_server.url, sha(data), device["token"]).status_code == 200
    # re-dispatched to another technician: the order (and its photo) leave the first one
    from server.workorders.tables import WorkOrder
    from server.accounts.tables import User

    other = await User.select(User.id).where(User.username == techs["b"]).first()
    await WorkOrder.update({WorkOrder.assigned_to: other["id"], WorkOrder.version: WorkOrder.version + 1}).where(
        WorkOrder.id == order_id)
    assert get(live_server.url, sha(data), device["token"]).status_code == 404
    assert get(live_server.url, sha(data), register(live_server.url, techs["b"])["token"]).status_code == 200

"""Sync: uploaded blobs (signatures, photos), content-addressed by SHA-256 (sync-protocol §3)."""

from piccolo.columns import Boolean, ForeignKey, Integer, Timestamptz, Varchar
from piccolo.table import Table

from server.accounts.tables import User


class Blob(Table, tablename="sync_blob"):
    """One uploaded file. The bytes live under settings.blob_dir at `path`; the row is written
    only after the file is durably in place, so a row always means the bytes are there."""

    sha256 = Varchar(length=64, unique=True)  # the name it was sent under (hash of the upload)
    kind = Varchar(length=10)  # signature | photo
    content_type = Varchar(length=20)  # image/png | image/jpeg
    size = Integer()  # bytes stored
    path = Varchar(length=200)  # relative to settings.blob_dir
    stripped = Boolean(default=False)  # re-encoded without EXIF/GPS metadata
    uploaded_by = ForeignKey(references=User)
    created_at = Timestamptz()

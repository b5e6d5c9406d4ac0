"""Settings: one frozen dataclass read once from the environment (FS_*), .env optional."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _read_dotenv(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of an optional .env file; the real environment wins."""
    if not path.is_file():
        return {}
    values: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip("'\"")
    return values


def _flag(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("var")
    database_url: str = ""  # empty: SQLite file in data_dir
    host: str = "127.0.0.1"
    port: int = 8000
    demo: bool = False  # demo mode: the login page shows the demo logins
    secure_cookies: bool = False  # set behind HTTPS
    default_timezone: str = "Asia/Shanghai"
    vapid_subject: str = "mailto:admin@example.com"
    blob_dir: Path = field(default=Path("var/blobs"))
    session_hours: int = 12
    board_poll_seconds: int = 10
    monitor_seconds: float = 60.0  # how often the at-risk monitor looks (dispatch.monitor)
    push_retry_base_seconds: float = 2.0
    log_level: str = "info"

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "fieldservice.sqlite3"

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(("postgres://", "postgresql://"))

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        env = {**_read_dotenv(Path(".env")), **(environ if environ is not None else os.environ)}
        data_dir = Path(env.get("FS_DATA_DIR", "var"))
        return cls(
            data_dir=data_dir,
            database_url=env.get("FS_DATABASE_URL", ""),
            host=env.get("FS_HOST", "127.0.0.1"),
            port=int(env.get("FS_PORT", "8000")),
            demo=_flag(env.get("FS_DEMO", "0")),
            secure_cookies=_flag(env.get("FS_SECURE_COOKIES", "0")),
            default_timezone=env.get("FS_TIMEZONE", "Asia/Shanghai"),
            vapid_subject=env.get("FS_VAPID_SUBJECT", "mailto:admin@example.com"),
            blob_dir=Path(env.get("FS_BLOB_DIR", str(data_dir / "blobs"))),
            session_hours=int(env.get("FS_SESSION_HOURS", "12")),
            board_poll_seconds=int(env.get("FS_BOARD_POLL_SECONDS", "10")),
            monitor_seconds=float(env.get("FS_MONITOR_SECONDS", "60")),
            push_retry_base_seconds=float(env.get("FS_PUSH_RETRY_BASE_SECONDS", "2")),
            log_level=env.get("FS_LOG_LEVEL", "info"),
        )

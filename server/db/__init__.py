"""Binding every table to the engine chosen by the settings."""

from __future__ import annotations

from server.db.engine import make_engine
from server.settings import Settings


def all_tables():
    from server.db.piccolo_app import APP_CONFIG

    return APP_CONFIG.table_classes


def bind_engine(settings: Settings):
    """Point every table at the engine for `settings` and return it."""
    engine = make_engine(settings)
    for table in all_tables():
        table._meta.db = engine
    return engine

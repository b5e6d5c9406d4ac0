"""Piccolo's configuration: the engine comes from the FS_* settings."""

from piccolo.conf.apps import AppRegistry

from server.db.engine import make_engine
from server.settings import Settings

DB = make_engine(Settings.from_env())

APP_REGISTRY = AppRegistry(apps=["server.db.piccolo_app"])

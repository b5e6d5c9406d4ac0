"""One Piccolo app holding every feature's tables, so migrations live in one place."""

import os

from piccolo.conf.apps import AppConfig, table_finder

# Each feature keeps its tables in <feature>/tables.py; list the module here.
TABLE_MODULES = [
    "server.accounts.tables",
    "server.customers.tables",
    "server.contracts.tables",
    "server.parts.tables",
    "server.calls.tables",
    "server.workorders.tables",
    "server.push.tables",
    "server.sync.tables",
    "server.sync.blob_tables",
    "server.sync.pull_tables",
]

APP_CONFIG = AppConfig(
    app_name="fieldservice",
    migrations_folder_path=os.path.join(os.path.dirname(__file__), "migrations"),
    table_classes=table_finder(modules=TABLE_MODULES, exclude_imported=True),
    migration_dependencies=[],
    commands=[],
)

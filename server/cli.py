"""The `fieldservice` console script: serve, migrate, demo, create-user, vapid."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys

from server.settings import Settings

DEMO_LOGINS = ("clerk", "supervisor", "tech1", "tech2", "manager")


def _prepare_env() -> Settings:
    os.environ.setdefault("PICCOLO_CONF", "server.db.piccolo_conf")
    return Settings.from_env()


async def _with_engine(settings: Settings, work):
    from server.db import bind_engine

    engine = bind_engine(settings)
    if settings.is_postgres:
        await engine.start_connection_pool()
    try:
        return await work()
    finally:
        if settings.is_postgres:
            await engine.close_connection_pool()
        else:
            await engine.close_pool()


async def migrate(settings: Settings) -> None:
    """Apply Piccolo's migrations (server/db/migrations; `make migration` writes a new one)."""
    from piccolo.apps.migrations.commands.forwards import run_forwards

    result = await run_forwards(app_name="fieldservice", migration_id="all", fake=False)
    if not result.success:
        raise SystemExit(f"migration failed: {result.message}")


def cmd_migrate(args, settings: Settings) -> None:
    asyncio.run(migrate(settings))
    print(f"database ready: {settings.database_url or settings.sqlite_path}")


def cmd_demo(args, settings: Settings) -> None:
    from server.demo import load_demo

    loaded = asyncio.run(_with_engine(settings, load_demo))
    if loaded:
        print("demo data loaded.")
    else:
        print("the database already has data: demo data not loaded again.")
    print("demo logins (password: demo): " + ", ".join(DEMO_LOGINS))


def cmd_create_user(args, settings: Settings) -> None:
    from server.accounts.service import UserExists, create_user

    password = args.password or getpass.getpass("password: ")

    async def work():
        return await create_user(args.username, password, args.role, args.name or args.username,
                                 branch_code=args.branch)

    try:
        asyncio.run(_with_engine(settings, work))
    except (ValueError, UserExists) as exc:
        raise SystemExit(f"not created: {exc}")
    print(f"user {args.username} created ({args.role}).")


def cmd_vapid(args, settings: Settings) -> None:
    from server.push.vapid import load_or_create, public_key

    print(public_key(load_or_create(settings)))


def cmd_serve(args, settings: Settings) -> None:
    import uvicorn

    uvicorn.run("server.app:app_from_env", factory=True, host=args.host or settings.host,
                port=args.port or settings.port, log_level=settings.log_level,
                proxy_headers=True, forwarded_allow_ips=os.environ.get("FS_FORWARDED_ALLOW_IPS", "127.0.0.1"))


def main(argv: list[str] | None = None) -> None:
    settings = _prepare_env()
    parser = argparse.ArgumentParser(prog="fieldservice", description="Field service server")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the app (FS_HOST, FS_PORT)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(func=cmd_serve)
    sub.add_parser("migrate", help="create or update the database").set_defaults(func=cmd_migrate)
    sub.add_parser("demo", help="load demo data into a new database").set_defaults(func=cmd_demo)
    create = sub.add_parser("create-user", help="add a user")
    create.add_argument("username")
    create.add_argument("--role", required=True, help="clerk, supervisor, technician, manager, service_dept, admin")
    create.add_argument("--branch", help="branch code")
    create.add_argument("--name", help="display name")
    create.add_argument("--password", help="prompted for when not given")
    create.set_defaults(func=cmd_create_user)
    sub.add_parser("vapid", help="show the VAPID public key").set_defaults(func=cmd_vapid)
    args = parser.parse_args(argv)
    args.func(args, settings)


if __name__ == "__main__":
    main(sys.argv[1:])

"""create_app(settings) -> Litestar; nothing else."""

from __future__ import annotations

import importlib
import logging

from litestar import Litestar
from litestar.config.compression import CompressionConfig
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.plugins.htmx import HTMXPlugin, HTMXRequest
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from server import routes
from server.accounts.middleware import AuthMiddleware
from server.db import bind_engine
from server.errors import exception_handlers
from server.settings import Settings
from server.static_cache import StaticCacheHeaders
from server.web import STATIC_DIR, make_environment

MAX_BODY_BYTES = 8 * 1024 * 1024


def _resolve(dotted: str):
    module, _, attr = dotted.partition(":")
    return getattr(importlib.import_module(module), attr)


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    engine = bind_engine(settings)
    handlers: list = []
    for module in routes.ROUTE_MODULES:
        handlers.extend(importlib.import_module(module).route_handlers)

    async def on_startup(app: Litestar) -> None:
        if settings.is_postgres:
            await engine.start_connection_pool()
        for hook in routes.STARTUP:
            await _resolve(hook)(app)

    async def on_shutdown(app: Litestar) -> None:
        for hook in routes.SHUTDOWN:
            await _resolve(hook)(app)
        if settings.is_postgres:
            await engine.close_connection_pool()
        else:
            await engine.close_pool()

    static = create_static_files_router(
        path="/static", directories=[STATIC_DIR], name="static",
        cache_control=None, include_in_schema=False, middleware=[StaticCacheHeaders()],
    )
    app = Litestar(
        route_handlers=[*handlers, static],
        middleware=[AuthMiddleware()],
        plugins=[HTMXPlugin()],
        request_class=HTMXRequest,
        template_config=TemplateConfig(instance=JinjaTemplateEngine.from_environment(make_environment())),
        exception_handlers=exception_handlers,
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
        openapi_config=OpenAPIConfig(title="Field service API", version="1", path="/schema",
                                     render_plugins=[SwaggerRenderPlugin()]),
        request_max_body_size=MAX_BODY_BYTES,
        # Technicians load the shell over weak mobile links: gzip what is worth it. Level 3
        # makes pages 10-15 % bigger than 9 in a third of the time: the 80 KB dispatch board,
        # polled by every supervisor, took a quarter of its request at level 6 (bench/pages.py).
        compression_config=CompressionConfig(backend="gzip", minimum_size=1024, gzip_compress_level=3),
        logging_config=None,
        debug=False,
    )
    app.state.settings = settings
    app.state.engine = engine
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return app


def app_from_env() -> Litestar:
    """Factory for uvicorn: `uvicorn --factory server.app:app_from_env`."""
    return create_app(Settings.from_env())

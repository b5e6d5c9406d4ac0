"""The baseline: a bare Litestar hello-world route, served the same way as the app."""

from litestar import Litestar, get


@get("/", media_type="text/html")
async def hello() -> str:
    return "<!doctype html><title>hello</title><p>hello, world</p>"


def create() -> Litestar:
    return Litestar(route_handlers=[hello])

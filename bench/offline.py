"""Offline benchmark of the technician PWA, in Debian's Chromium against a real server.

- reconnect_s: 500 changes queued offline; seconds from going online until the server has
  acknowledged all of them (target ≤ 1.5 s on loopback);
- offline_open_ms: median time to open a saved order page with the network off (navigation
  start to the load event, as the browser measures it);
- shell_bytes: bytes on the wire (bodies as sent, and headers) for the first load of the
  technician's day, including what the service worker precaches (target ≤ 150 KB).

Run: .venv/bin/python bench/offline.py   (ends with one line of figures)
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from server.settings import Settings  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, PHONE, set_up_device, sign_in_page  # noqa: E402
from tests.browser.orders import create_order  # noqa: E402
from tests.conftest import make_env, run_cli, start_server  # noqa: E402

CHANGES = 500
OPENS = 15


def new_order(settings: Settings) -> int:
    from server.db import bind_engine

    async def work():
        bind_engine(settings)
        return await create_order("tech1", category="A")

    return asyncio.run(work())


def shell_bytes(browser, url: str) -> int:
    """Bytes of every response on the first visit to /tech (page, scripts, worker's precache),
    on a device that has never loaded anything (signed in by cookie, not by the login page)."""
    from tests.conftest import sign_in

    client = sign_in(url, "tech1")
    context = browser.new_context(base_url=url, viewport=PHONE, service_workers="allow")
    host = url.split("//", 1)[1].split(":")[0]
    context.add_cookies([{"name": name, "value": value, "domain": host, "path": "/"}
                         for name, value in client.cookies.items()])
    sizes: dict[str, int] = {}

    def seen(request):
        response = request.response()
        if response is None or response.from_service_worker:
            return  # answered from the device's cache: nothing crossed the network
        sent = request.sizes()  # bytes on the wire: compressed body and headers
        sizes[request.url] = sizes.get(request.url, 0) + sent["responseBodySize"] + sent["responseHeadersSize"]

    context.on("requestfinished", seen)
    page = context.new_page()
    page.goto("/tech")
    page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=30000)
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(500)
    context.close()
    shell = {address: size for address, size in sizes.items() if "/sync/" not in address and "/api/" not in address}
    for address, size in sorted(shell.items(), key=lambda item: -item[1]):
        print(f"  {size:7d}  {address.replace(url, '')}")
    return sum(shell.values())


def main() -> None:
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="fs-bench-") as tmp:
        env = make_env(Path(tmp), "")
        run_cli(env, "migrate")
        run_cli(env, "demo")
        server = start_server(env, Path(tmp) / "server.log")
        try:
            order_id = new_order(Settings.from_env(env))
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                shell = shell_bytes(browser, server.url)

                context = browser.new_context(base_url=server.url, viewport=PHONE, service_workers="allow")
                context.set_default_timeout(60000)
                page = context.new_page()
                sign_in_page(page, "tech1")
                set_up_device(page)
                context.set_offline(True)
                opens, responses = [], []
                for _ in range(OPENS):  # navigation start → load event, measured by the browser
                    page.goto(f"/tech/orders/{order_id}", wait_until="load")
                    timing = page.evaluate("""(() => { const n = performance.getEntriesByType('navigation')[0];
                        return [n.responseEnd, n.loadEventEnd]; })()""")
                    responses.append(timing[0])
                    opens.append(timing[1])
                page.evaluate("""async (n) => {
                    for (let i = 0; i < n; i++) {
                        await FSOutbox.enqueue('add_note', {work_order_id: %d, note_id: FSOutbox.uuid(), text: 'bench ' + i});
                    }
                }""" % order_id, CHANGES)
                page.wait_for_selector(f"#outbox-badge[data-count='{CHANGES}']")

                started = time.perf_counter()
                context.set_offline(False)
                page.evaluate("window.dispatchEvent(new Event('online'))")
                page.wait_for_function("document.getElementById('outbox-badge').dataset.count === '0'", polling=10)
                reconnect = time.perf_counter() - started
                browser.close()
        finally:
            server.stop()
    print(f"changes={CHANGES} opens={OPENS} page_from_cache_ms={statistics.median(responses):.0f} "
          f"offline_open_ms_all={[round(x) for x in opens]}")
    print(f"reconnect_s={reconnect:.2f} offline_open_ms={statistics.median(opens):.0f} shell_bytes={shell}")


if __name__ == "__main__":
    main()

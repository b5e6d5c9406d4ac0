"""Sign-in, sessions, CSRF and the login rate limit, against the real server."""

import re

import httpx

from tests.conftest import sign_in


def _login_form(client: httpx.Client) -> str:
    return re.search(r'name="_csrf" value="([^"]+)"', client.get("/login").text).group(1)


def test_session_cookie_is_httponly_lax_and_new_at_each_login(live_server):
    with httpx.Client(base_url=live_server.url) as client:
        token = _login_form(client)
        first = client.post("/login", data={"username": "clerk", "password": "demo", "_csrf": token})
        cookie = first.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie
        old_session = client.cookies["fs_session"]
        # signed in, /login redirects; sign in again with a double-submit token of our own
        client.cookies.set("fs_csrf", "again-token")
        session_csrf = client.get("/api/me").json()["csrf_token"]
        again = client.post("/login", data={"username": "clerk", "password": "demo", "_csrf": "again-token"},
                            headers={"X-CSRF-Token": session_csrf})
        assert again.status_code == 303
        assert client.cookies["fs_session"] != old_session
    # the old session id no longer works
    with httpx.Client(base_url=live_server.url, cookies={"fs_session": old_session}) as stale:
        assert stale.get("/api/me").status_code == 401


def test_logout_ends_the_session_on_the_server(live_server):
    client = sign_in(live_server.url, "clerk")
    session = client.cookies["fs_session"]
    response = client.post("/logout")
    assert response.status_code == 303
    assert "storage" in response.headers["clear-site-data"]
    with httpx.Client(base_url=live_server.url, cookies={"fs_session": session}) as stale:
        assert stale.get("/api/me").status_code == 401


def test_unsafe_request_without_csrf_token_is_refused(live_server):
    client = sign_in(live_server.url, "clerk")
    client.csrf_token = ""
    response = client.post("/logout")
    assert response.status_code == 403
    assert client.get("/api/me").status_code == 200  # still signed in: nothing happened


def test_wrong_password_is_said_plainly_in_chinese_and_english(live_server):
    with httpx.Client(base_url=live_server.url) as client:
        token = _login_form(client)
        zh = client.post("/login", data={"username": "clerk", "password": "nope", "_csrf": token},
                         headers={"Accept-Language": "zh-CN"})
        assert zh.status_code == 401 and "用户名或密码错误" in zh.text
        en = client.post("/login", data={"username": "clerk", "password": "nope", "_csrf": token},
                         headers={"Accept-Language": "en-GB"})
        assert en.status_code == 401 and "Wrong username or password" in en.text


def test_login_is_rate_limited_after_ten_failures(live_server):
    with httpx.Client(base_url=live_server.url, headers={"Accept-Language": "en"}) as client:
        token = _login_form(client)
        statuses = [client.post("/login", data={"username": "ratelimited", "password": "x",
                                                "_csrf": token}).status_code for _ in range(11)]
        assert statuses[:10] == [401] * 10
        assert statuses[10] == 429
        assert "Too many failed sign-ins" in client.post(
            "/login", data={"username": "ratelimited", "password": "x", "_csrf": token}).text


def test_pages_send_anonymous_users_to_sign_in(live_server):
    response = httpx.get(live_server.url + "/api/me")
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"


def test_versioned_static_files_are_kept_and_the_others_checked_each_time(live_server):
    from server.web import static_url

    versioned = httpx.get(live_server.url + static_url("css/app.css"))
    assert versioned.status_code == 200 and versioned.headers["cache-control"] == "public, max-age=31536000, immutable"
    for path in ("/static/css/app.css", "/static/css/app.css?v=0123456789", "/static/icons/icon-192.png"):
        response = httpx.get(live_server.url + path)
        assert response.status_code == 200 and response.headers["cache-control"] == "no-cache", path
    assert httpx.get(live_server.url + "/static/../server/app.py?v=1").status_code == 404

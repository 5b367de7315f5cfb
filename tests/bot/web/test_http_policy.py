"""The Rasa server's HTTP policy (``bot/web/``) over real requests to the real
servers: credentialed CORS only for the console's allow-list, the console
API's cross-site request check (403, 415, the console header, bearer clients),
credential-free CORS for the widget's public routes, static files (404/400,
HEAD, ETag/Last-Modified/304, gzip, cache headers, no traversal), security
headers on every answer, no version banner, and ``Secure`` cookies behind a
trusted https proxy.

Red-team report rows 4b, 4e, 4j, 4k and findings F2, F11."""

from __future__ import annotations

import gzip
import re
from dataclasses import replace

import pytest

from bot.handoff.agents import AgentStore
from faqbot.config import PROJECT_ROOT
from tests.bot.web.client import call, sign_in

pytestmark = pytest.mark.slow

AGENT, PASSWORD = "alice", "pass-word-123"
ADMIN = "http://admin.example.test:8080"  # [console] allowed_origins in this module
FOREIGN = ["http://127.0.0.1:5199", "http://localhost:5199", "https://www.example.com", "null"]
STATIC = PROJECT_ROOT / "bot" / "console" / "static"


@pytest.fixture(scope="module")
def bot_settings(bot_settings):
    """Behind a proxy on loopback, with one other origin allowed to use the console API."""
    console = replace(bot_settings.console, allowed_origins=ADMIN, trusted_proxies="127.0.0.1")
    return bot_settings.replace(console=console)


@pytest.fixture(scope="module")
def url(running_bot) -> str:
    AgentStore(running_bot.settings.database_url).add(AGENT, PASSWORD, "爱丽丝")
    return running_bot.rasa_url


@pytest.fixture(scope="module")
def token(url) -> str:
    return sign_in(url, AGENT, PASSWORD)


def cookie(token: str) -> dict[str, str]:
    return {"Cookie": f"faqbot_console={token}"}


# -- the console API and other origins (F2) ----------------------------------------------------


def test_a_foreign_origin_gets_no_credentialed_cors_and_no_data(url, token):
    for origin in FOREIGN:
        answer = call(url, "GET", "/console/api/queue", {"Origin": origin, **cookie(token)})
        assert answer.status == 403 and "cross-origin request refused" in answer.error, origin
        assert answer.header("Access-Control-Allow-Origin") is None, origin
        assert answer.header("Access-Control-Allow-Credentials") is None, origin
        assert b"handoffs" not in answer.body
        preflight = call(
            url,
            "OPTIONS",
            "/console/api/handoffs/x/notes",
            {
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type, x-faqbot-console",
            },
        )
        assert preflight.status == 403, origin
        assert preflight.header("Access-Control-Allow-Origin") is None, origin
    own = call(url, "GET", "/console/api/queue", {"Origin": url, **cookie(token)})
    assert own.status == 200 and "handoffs" in own.json
    assert own.header("Access-Control-Allow-Credentials") is None  # same origin: no CORS needed


def test_an_allow_listed_origin_gets_credentialed_cors(url, token):
    preflight = call(
        url,
        "OPTIONS",
        "/console/api/handoffs/x/notes",
        {
            "Origin": ADMIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type, x-faqbot-console",
        },
    )
    assert preflight.status == 204
    assert preflight.header("Access-Control-Allow-Origin") == ADMIN
    assert preflight.header("Access-Control-Allow-Credentials") == "true"
    assert "X-Faqbot-Console" in preflight.header("Access-Control-Allow-Headers")
    answer = call(url, "GET", "/console/api/me", {"Origin": ADMIN, **cookie(token)})
    assert answer.status == 200 and answer.json["agent"]["name"] == AGENT
    assert answer.header("Access-Control-Allow-Origin") == ADMIN
    assert "Origin" in answer.header("Vary")


def test_state_changing_console_requests_need_the_console_header(url, token):
    note = "/console/api/handoffs/x/notes"  # no such hand-off: 409 means the request got past the check
    missing = call(url, "POST", note, cookie(token), {"text": "hi"})
    assert missing.status == 403 and "X-Faqbot-Console: 1" in missing.error
    passed = call(url, "POST", note, {"X-Faqbot-Console": "1", "Origin": url, **cookie(token)}, {"text": "hi"})
    assert passed.status == 409 and "no hand-off" in passed.error
    for headers in (
        {"Origin": "http://127.0.0.1:5199"},
        {"Origin": "null"},
        {"Referer": "http://127.0.0.1:5199/attack.html"},
        {"Referer": "https://www.example.com/"},
    ):
        refused = call(url, "POST", note, {"X-Faqbot-Console": "1", **headers, **cookie(token)}, {"text": "hi"})
        assert refused.status == 403 and "cross-origin request refused" in refused.error, headers
    same_referer = call(
        url, "POST", note, {"X-Faqbot-Console": "1", "Referer": f"{url}/console/", **cookie(token)}, {"text": "hi"}
    )
    assert same_referer.status == 409
    # Sign-in from a browser needs the header too (no signing a victim into another account)...
    browser_login = call(url, "POST", "/console/api/login", {"Origin": url}, {"name": AGENT, "password": PASSWORD})
    assert browser_login.status == 403 and "X-Faqbot-Console" in browser_login.error
    assert (
        call(
            url,
            "POST",
            "/console/api/login",
            {"Origin": "http://127.0.0.1:5199", "X-Faqbot-Console": "1"},
            {"name": AGENT, "password": PASSWORD},
        ).status
        == 403
    )
    ok = call(
        url,
        "POST",
        "/console/api/login",
        {"Origin": url, "X-Faqbot-Console": "1"},
        {"name": AGENT, "password": PASSWORD},
    )
    assert ok.status == 200 and ok.json["token"]
    # ...and signing out is a change as well: refused without it, and the session stays valid.
    assert call(url, "POST", "/console/api/logout", cookie(ok.json["token"]), {}).status == 403
    assert call(url, "GET", "/console/api/me", cookie(ok.json["token"])).status == 200


def test_bodies_that_are_not_json_are_refused_with_415(url, token):
    headers = {"X-Faqbot-Console": "1", "Origin": url, **cookie(token)}
    for path in (
        "/console/api/handoffs/x/messages",
        "/console/api/handoffs/x/notes",
        "/console/api/tickets/x/answer",
        "/console/api/login",
    ):
        for content_type in (
            "text/plain",
            "text/plain;charset=UTF-8",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
        ):
            answer = call(url, "POST", path, {**headers, "Content-Type": content_type}, '{"text": "CSRF-REPLY"}')
            assert answer.status == 415 and "must be JSON" in answer.error, (path, content_type)
    bearer = {"Authorization": f"Bearer {token}", "Content-Type": "text/plain"}
    assert call(url, "POST", "/console/api/handoffs/x/notes", bearer, '{"text": "x"}').status == 415
    # An empty body (claim, close) needs no Content-Type.
    assert call(url, "POST", "/console/api/handoffs/x/claim", headers).status == 409


def test_api_clients_with_a_bearer_token_keep_working(url):
    token = sign_in(url, AGENT, PASSWORD)  # no Origin, no console header
    bearer = {"Authorization": f"Bearer {token}"}
    assert call(url, "GET", "/console/api/me", bearer).json["agent"]["name"] == AGENT
    noted = call(url, "POST", "/console/api/handoffs/x/notes", bearer, {"text": "hi"})
    assert noted.status == 409 and "no hand-off" in noted.error
    assert call(url, "POST", "/console/api/logout", bearer, {}).status == 200
    assert call(url, "GET", "/console/api/me", bearer).status == 401


# -- the widget's public routes ------------------------------------------------------------------


def test_widget_routes_allow_any_site_but_never_credentials(url):
    site = {"Origin": "https://shop.example.com"}
    answers = [
        call(url, "GET", path, site)
        for path in (
            "/handoff/status?sender=cors-user",
            "/handoff/messages?sender=cors-user",
            "/widget/widget.js",
            "/widget/socket.io.min.js",
            "/socket.io/?EIO=4&transport=polling",
        )
    ]
    answers.append(call(url, "POST", "/webhooks/rest/webhook", site, {"sender": "cors-user", "message": "你好"}))
    for answer in answers:
        assert answer.status == 200, answer.body[:200]
        assert answer.header("Access-Control-Allow-Origin") == "*"
        assert answer.header("Access-Control-Allow-Credentials") is None
        assert not answer.all("Set-Cookie")
    preflight = call(
        url,
        "OPTIONS",
        "/webhooks/rest/webhook",
        {**site, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"},
    )
    assert preflight.status == 204 and preflight.header("Access-Control-Allow-Origin") == "*"
    assert preflight.header("Access-Control-Allow-Credentials") is None
    assert preflight.header("Access-Control-Allow-Headers") == "Content-Type"
    for path in ("/", "/webhooks/rest/", "/console/", "/demo/"):  # not called cross-origin: no CORS at all
        assert call(url, "GET", path, site).header("Access-Control-Allow-Origin") is None, path


# -- static files (F11) --------------------------------------------------------------------------

SERVED = {
    "/console/": "no-cache",
    "/console": "no-cache",
    "/console/static/app.js": "no-cache",
    "/console/static/style.css": "no-cache",
    "/demo/": "no-cache",
    "/demo": "no-cache",
    "/widget/widget.js": "public, max-age=300",
    "/widget/markdown.js": "no-cache",
    "/widget/socket.io.min.js": "public, max-age=86400",
}
ESCAPES = [
    "..%2f..%2fbot%2fconsole%2fapp.py",
    "%2e%2e/%2e%2e/bot/console/app.py",
    "%2e%2e%2f%2e%2e%2fREADME.md",
    "..%252f..%252fREADME.md",
    "..\\..\\README.md",
    "%5c..%5c..%5cREADME.md",
    "/etc/passwd",
    "//etc/passwd",
    "..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
    "....//....//etc/passwd",
    "app.js%00.png",
    "%00",
    "%2e",
    "%2e%2e",
    ".",
    "./app.js",
    "%ff%fe",
    "static/",
    ".git/config",
    "node_modules/socket.io-client/package.json",
    "package.json",
    "demo/index.html/",
]


def test_static_routes_serve_only_their_files(url):
    assert call(url, "GET", "/console/static/").status == 404  # a directory (was 500)
    assert call(url, "GET", "/console/static/app.js%00.png").status == 400  # a null byte (was 500)
    assert call(url, "GET", "/console/static/..\\app.py").status == 400
    assert call(url, "GET", "/console/static/%2e%2e/app.py").status == 404
    assert call(url, "GET", "/widget/").status == 404
    assert call(url, "GET", "/widget/package.json").status == 404
    for prefix in ("/console/static/", "/widget/", "/demo/"):
        for escape in ESCAPES:
            for method in ("GET", "HEAD"):
                answer = call(url, method, prefix + escape)
                assert answer.status in (400, 404), (method, prefix + escape, answer.status)
                assert b"root:" not in answer.body and b"console_blueprint" not in answer.body
                assert b"faqbot" not in answer.body.lower()


def test_static_files_have_head_validators_gzip_and_cache_headers(url):
    for path, cache in SERVED.items():
        full = call(url, "GET", path)
        assert full.status == 200 and full.body, path
        assert full.header("Cache-Control") == cache, path
        etag, modified = full.header("ETag"), full.header("Last-Modified")
        assert re.fullmatch(r'"[0-9a-f]+"', etag) and modified.endswith(" GMT"), path
        head = call(url, "HEAD", path)
        assert head.status == 200 and head.body == b"" and head.header("Content-Length") == str(len(full.body)), path
        assert head.header("ETag") == etag
        again = call(url, "GET", path, {"If-None-Match": etag})
        assert again.status == 304 and again.body == b"" and again.header("ETag") == etag, path
        assert call(url, "GET", path, {"If-None-Match": f'"other", W/{etag}'}).status == 304
        assert call(url, "GET", path, {"If-None-Match": '"other"'}).status == 200
        assert call(url, "GET", path, {"If-Modified-Since": modified}).status == 304, path
        assert call(url, "GET", path, {"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}).status == 200
        packed = call(url, "GET", path, {"Accept-Encoding": "gzip, deflate, br"})
        assert packed.header("Content-Encoding") == "gzip", path
        assert gzip.decompress(packed.body) == full.body and len(packed.body) < len(full.body)
        assert "Accept-Encoding" in packed.header("Vary") and packed.header("ETag") != etag
        assert call(url, "GET", path, {"If-None-Match": packed.header("ETag")}).status == 304
        assert call(url, "GET", path, {"Accept-Encoding": "gzip;q=0"}).header("Content-Encoding") is None
    assert call(url, "GET", "/console/static/app.js").body == (STATIC / "app.js").read_bytes()


def test_the_widget_and_the_console_share_one_markdown_renderer(url):
    """widget/markdown.js is the only copy: served alone for the console, and first in widget.js."""
    folder = PROJECT_ROOT / "widget"
    renderer, widget = (folder / "markdown.js").read_bytes(), (folder / "widget.js").read_bytes()
    assert call(url, "GET", "/widget/markdown.js").body == renderer
    assert call(url, "GET", "/widget/widget.js").body == renderer + b"\n" + widget
    assert b'<script src="/widget/markdown.js">' in (STATIC / "index.html").read_bytes()
    for copy in (widget, (STATIC / "app.js").read_bytes()):
        assert b"SAFE_LINK" not in copy and b"FaqbotMarkdown" in copy


# -- headers on every answer (and no version banner: 4k) -------------------------------------------

EVERY = [
    ("GET", "/console/"),
    ("GET", "/console/static/app.js"),
    ("GET", "/console/static/style.css"),
    ("GET", "/demo/"),
    ("GET", "/widget/widget.js"),
    ("GET", "/widget/markdown.js"),
    ("GET", "/widget/socket.io.min.js"),
    ("GET", "/console/api/me"),
    ("GET", "/console/api/queue"),
    ("GET", "/handoff/status?sender=h"),
    ("GET", "/handoff/messages?sender=h"),
    ("GET", "/webhooks/rest/"),
    ("GET", "/"),
    ("GET", "/no-such-page"),
    ("GET", "/console/static/"),
    ("GET", "/console/static/app.js%00.png"),
    ("HEAD", "/console/"),
    ("POST", "/console/api/handoffs/x/notes"),
    ("GET", "/socket.io/?EIO=4&transport=polling"),
]


def csp(answer) -> dict[str, list[str]]:
    policy = answer.header("Content-Security-Policy") or ""
    return {d.split()[0]: d.split()[1:] for d in (p.strip() for p in policy.split(";")) if d}


def test_every_answer_carries_the_security_headers(url):
    for method, path in EVERY:
        answer = call(url, method, path, {"Accept": "text/html"} if path == "/no-such-page" else {})
        policy = csp(answer)
        assert policy, (method, path)
        assert answer.header("X-Content-Type-Options") == "nosniff", path
        assert answer.header("Referrer-Policy") in ("same-origin", "strict-origin-when-cross-origin"), path
        assert "'unsafe-inline'" not in policy.get("script-src", []) and "'unsafe-eval'" not in str(policy), path
        if "script-src" not in policy:
            assert policy["default-src"] == ["'none'"], path
    console = csp(call(url, "GET", "/console/"))
    assert console["frame-ancestors"] == ["'none'"] and console["script-src"] == ["'self'"]
    assert console["style-src"] == ["'self'"] and console["default-src"] == ["'none'"]
    page = call(url, "GET", "/console/")
    assert page.header("X-Frame-Options") == "DENY" and page.header("Referrer-Policy") == "same-origin"
    demo = csp(call(url, "GET", "/demo/"))
    assert demo["script-src"] == ["'self'"] and "'unsafe-inline'" in demo["style-src"]  # the widget's shadow root
    api = call(url, "GET", "/console/api/me")
    assert api.header("Cache-Control") == "no-store" and csp(api)["frame-ancestors"] == ["'none'"]


def test_pages_have_no_inline_script():
    for page in (STATIC / "index.html", PROJECT_ROOT / "widget" / "demo" / "index.html"):
        html = page.read_text(encoding="utf-8")
        scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", html, flags=re.DOTALL | re.IGNORECASE)
        assert scripts and all("src=" in attrs and not body.strip() for attrs, body in scripts), page
        assert not re.search(r"\son[a-z]+\s*=", html, flags=re.IGNORECASE), page  # no inline event handlers
        assert "javascript:" not in html


def test_the_root_route_names_no_version(url):
    answer = call(url, "GET", "/")
    assert answer.status == 200 and answer.body == b"ok"
    import rasa

    for method, path in EVERY:
        answer = call(url, method, path)
        assert rasa.__version__.encode() not in answer.body, path
        assert rasa.__version__ not in str(answer.headers), path


# -- https behind a trusted proxy (4b) -----------------------------------------------------------


def test_the_session_cookie_is_secure_when_the_browser_used_https(url):
    login = {"name": AGENT, "password": PASSWORD}
    plain = call(url, "POST", "/console/api/login", {}, login)
    [session] = [c for c in plain.all("Set-Cookie") if c.startswith("faqbot_console=")]
    assert "HttpOnly" in session and "SameSite=Strict" in session and "Secure" not in session
    proxied = call(url, "POST", "/console/api/login", {"X-Forwarded-Proto": "https"}, login)
    [session] = [c for c in proxied.all("Set-Cookie") if c.startswith("faqbot_console=")]
    assert "; Secure" in session and "HttpOnly" in session and "SameSite=Strict" in session
    assert all("; Secure" in c for c in proxied.all("Set-Cookie"))  # every cookie set over https
    token = proxied.json["token"]
    # Behind the proxy the console's own origin is the one the browser saw.
    forwarded = {
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "bot.example.com",
        "X-Faqbot-Console": "1",
        **cookie(token),
    }
    assert (
        call(
            url,
            "POST",
            "/console/api/handoffs/x/notes",
            {**forwarded, "Origin": "https://bot.example.com"},
            {"text": "hi"},
        ).status
        == 409
    )
    assert (
        call(url, "POST", "/console/api/handoffs/x/notes", {**forwarded, "Origin": url}, {"text": "hi"}).status == 403
    )

"""The HTTP policy's pure parts: origins, the config keys, path checks, route kinds."""

from __future__ import annotations

from pathlib import Path

import pytest
from sanic.exceptions import InvalidUsage, NotFound

from bot.process.runner import StartupFailed, start_bot
from bot.web import check_settings, routes
from bot.web.origins import Proxies, normalise, parse_origins
from bot.web.static_files import parts, resolve
from faqbot.config import load_settings


def test_origins_are_compared_in_one_normal_form():
    assert normalise("HTTP://Example.COM:80") == "http://example.com"
    assert normalise("https://example.com:443/") == "https://example.com"
    assert normalise("http://127.0.0.1:5005/console/?x=1") == "http://127.0.0.1:5005"
    assert normalise("http://[::1]:5005") == "http://[::1]:5005"
    for opaque in (
        "null",
        "",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "http://",
        "http://a:b@example.com",
        "http://example.com:99999",
    ):
        assert normalise(opaque) is None, opaque


def test_origin_lists_from_the_config():
    assert parse_origins("", "k") == frozenset()
    assert parse_origins(" https://a.example.com, http://b.example.com:8080 ", "k") == {
        "https://a.example.com",
        "http://b.example.com:8080",
    }
    assert parse_origins("*", "widget.allowed_origins", wildcard=True) is None
    with pytest.raises(ValueError, match="console.allowed_origins: '\\*' is not allowed"):
        parse_origins("*", "console.allowed_origins")
    for bad in ("example.com", "https://example.com/path", "ftp://example.com", "*, https://a.example.com"):
        with pytest.raises(ValueError, match="widget.allowed_origins"):
            parse_origins(bad, "widget.allowed_origins", wildcard=True)
    assert Proxies.parse("127.0.0.1, ::1").trusted == {"127.0.0.1", "::1"}
    with pytest.raises(ValueError, match="console.trusted_proxies"):
        Proxies.parse("proxy.example.com")


def test_a_bad_origin_setting_stops_faqbot_run_before_anything_starts(settings):
    env = {
        "FAQBOT_KB_DIR": str(settings.kb_dir),
        "FAQBOT_DATA_DIR": str(settings.data_dir),
        "FAQBOT_WIDGET_ALLOWED_ORIGINS": "www.example.com",
    }
    bad = load_settings(env=env)
    with pytest.raises(ValueError, match="widget.allowed_origins: 'www.example.com' is not an origin"):
        check_settings(bad)
    with pytest.raises(StartupFailed, match="widget.allowed_origins"):
        start_bot(bad, say=lambda line: None)
    assert not (settings.data_dir / "index").exists()  # refused before the index was built
    defaults = load_settings(env={})
    assert defaults.widget.allowed_origins == "*" and defaults.console.allowed_origins == ""
    check_settings(defaults)


def test_static_paths_are_checked_part_by_part(tmp_path: Path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.js").write_text("x")
    (tmp_path / ".hidden").write_text("x")
    (tmp_path.parent / "outside.txt").write_text("x")
    (tmp_path / "link.txt").symlink_to(tmp_path.parent / "outside.txt")
    assert resolve(tmp_path, "sub/a.js") == (tmp_path / "sub" / "a.js").resolve()
    assert resolve(tmp_path, "sub%2fa.js") == (tmp_path / "sub" / "a.js").resolve()
    assert parts("a%20b.js") == ["a b.js"]
    for malformed in ("a.js%00.png", "%00", "..\\a.js", "sub%5ca.js", "%ff", "a%0a.js", "a%7f"):
        with pytest.raises(InvalidUsage):
            resolve(tmp_path, malformed)
    for missing in (
        "",
        "sub",
        "sub/",
        "/etc/passwd",
        "..",
        "../outside.txt",
        "%2e%2e/outside.txt",
        "sub/../sub/a.js",
        "./sub/a.js",
        ".hidden",
        "link.txt",
        "nope.js",
        "sub//a.js",
        "%252e%252e/outside.txt",
    ):
        with pytest.raises(NotFound):
            resolve(tmp_path, missing)


def test_route_kinds():
    assert routes.kind("/console/api/queue") == "console_api"
    assert routes.kind("/console/") == routes.kind("/console/static/app.js") == "console_page"
    for path in ("/socket.io/", "/webhooks/rest/webhook", "/handoff/status", "/handoff/messages", "/widget/widget.js"):
        assert routes.kind(path) == "widget", path
    assert routes.kind("/demo/") == "demo"
    for path in ("/", "/webhooks/rest/", "/webhooks/wechat/webhook", "/consoleX", "/handoff/statusX"):
        assert routes.kind(path) == "other", path

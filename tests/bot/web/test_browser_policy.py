"""The HTTP policy in headless Chromium against the real servers: the console
signs in, claims and replies under its Content-Security-Policy with no
violation; a page on another port of the same host (same site, other origin:
red-team 4e) can neither read the queue nor write a note or a reply while the
agent is signed in in the same browser, nor frame the console; the demo page's
widget works under its policy."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.handoff.agents import AgentStore
from bot.handoff.handoffs import HandoffStore
from tests.bot.conftest import Chat, free_port
from tests.bot.web.client import call

pytestmark = pytest.mark.slow

HANDOFF = {"presence_timeout": 86400}
AGENT, PASSWORD, DISPLAY = "li", "pass-word-123", "小李"
CUSTOMER = "browser-policy-user"

# Records every CSP violation a page sees (Playwright's init scripts are not subject to the page's CSP).
WATCH_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
}, true);
"""

ATTACK = """<!doctype html><html><head><meta charset="utf-8"><title>attacker</title></head><body>
<iframe name="sink" id="sink"></iframe><iframe id="frame"></iframe>
<script>
const target = %(target)s, hid = %(handoff)s;
window.results = {};
async function attempt(name, work) {
  try { results[name] = await work(); } catch (error) { results[name] = "blocked: " + error; }
}
(async () => {
  await attempt("read_queue", async () => {
    const r = await fetch(target + "/console/api/queue", { credentials: "include" });
    return "read " + r.status + " " + (await r.text()).slice(0, 300);
  });
  await attempt("read_handoff", async () => {
    const r = await fetch(target + "/console/api/handoffs/" + hid, { credentials: "include" });
    return "read " + r.status + " " + (await r.text()).slice(0, 300);
  });
  await attempt("note_json", async () => {
    const r = await fetch(target + "/console/api/handoffs/" + hid + "/notes", { method: "POST",
      credentials: "include", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ text: "CSRF-NOTE" }) });
    return "sent " + r.status;
  });
  await attempt("reply_with_header", async () => {
    const r = await fetch(target + "/console/api/handoffs/" + hid + "/messages", { method: "POST",
      credentials: "include", headers: { "Content-Type": "application/json", "X-Faqbot-Console": "1" },
      body: JSON.stringify({ text: "CSRF-HEADER-REPLY" }) });
    return "sent " + r.status;
  });
  await attempt("reply_text_plain", async () => {  // a simple request: no preflight, the cookie goes along
    const r = await fetch(target + "/console/api/handoffs/" + hid + "/messages", { method: "POST",
      credentials: "include", mode: "no-cors", headers: { "Content-Type": "text/plain" },
      body: JSON.stringify({ text: "CSRF-REPLY" }) });
    return "opaque " + r.type;
  });
  await attempt("close_no_cors", async () => {
    const r = await fetch(target + "/console/api/handoffs/" + hid + "/close", { method: "POST",
      credentials: "include", mode: "no-cors" });
    return "opaque " + r.type;
  });
  window.fetchesDone = true;
})();
window.submitForm = () => {  // a form post into a hidden frame, text/plain shaped as JSON
  const form = document.createElement("form");
  form.method = "POST"; form.enctype = "text/plain"; form.target = "sink";
  form.action = target + "/console/api/handoffs/" + hid + "/messages";
  const field = document.createElement("input");
  field.name = '{"text": "CSRF-FORM", "x": "'; field.value = '"}';
  form.append(field); document.body.append(form); form.submit();
};
window.frameConsole = () => {
  const frame = document.getElementById("frame");
  frame.onload = () => { window.frameLoaded = true; };
  frame.src = target + "/console/";
};
</script></body></html>"""


class AttackerSite:
    """A page on another port of the same host: same site, other origin."""

    def __init__(self, target: str, handoff: str) -> None:
        page = ATTACK % {"target": json.dumps(target), "handoff": json.dumps(handoff)}

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = page.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def url(running_bot) -> str:
    agents = AgentStore(running_bot.settings.database_url)
    agents.add(AGENT, PASSWORD, DISPLAY)
    agents.touch(AGENT)  # on duty, so a 转人工 queues
    return running_bot.rasa_url


@pytest.fixture(scope="module")
def store(running_bot) -> HandoffStore:
    return HandoffStore(running_bot.settings.database_url)


def watched_context(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.add_init_script(WATCH_CSP)
    return context


def watch(page) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {"errors": [], "csp_console": []}
    page.on("pageerror", lambda exc: seen["errors"].append(str(exc)))
    page.on(
        "console",
        lambda msg: (
            seen["csp_console"].append(msg.text)
            if "Content Security Policy" in msg.text or "Refused to" in msg.text
            else None
        ),
    )
    return seen


@pytest.fixture(scope="module")
def console(url, browser):
    """The agent's signed-in console, with everything it reports."""
    context = watched_context(browser)
    page = context.new_page()
    page.seen = watch(page)
    yield page
    context.close()


def poll_texts(url: str, sender: str) -> list[str]:
    answer = call(url, "GET", f"/handoff/messages?sender={sender}")
    return [m["text"] for m in answer.json["messages"]]


def test_the_console_signs_in_claims_and_replies_under_its_csp(url, console, store):
    from playwright.sync_api import expect

    customer = Chat(f"{url}/webhooks/rest/webhook", CUSTOMER)
    assert "已为您转接人工客服" in customer.say("转人工").text
    handoff = store.open_for(CUSTOMER)
    console.goto(url + "/console/")
    console.get_by_test_id("login-name").fill(AGENT)
    console.get_by_test_id("login-password").fill(PASSWORD)
    console.get_by_test_id("login-submit").click()
    expect(console.get_by_test_id("agent-name")).to_contain_text(DISPLAY)
    item = console.locator(f'[data-testid="queue-item"][data-handoff-id="{handoff.id}"]')
    item.click()
    console.get_by_test_id("claim").click()
    expect(console.get_by_test_id("message-input")).to_be_enabled(timeout=15000)
    console.get_by_test_id("message-input").fill("您好，我是小李。")
    console.get_by_test_id("send").click()
    conversation = console.get_by_test_id("conversation")
    expect(conversation.locator('[data-testid="msg"][data-kind="agent_message"]').last).to_contain_text(
        "您好，我是小李。", timeout=15000
    )
    console.get_by_test_id("note-input").fill("内部备注：已核实")
    console.get_by_test_id("note-add").click()
    expect(conversation.locator('[data-testid="msg"][data-kind="note"]').last).to_contain_text("已核实", timeout=15000)
    assert "您好，我是小李。" in poll_texts(url, CUSTOMER)
    console.get_by_test_id("tab-kpis").click()  # the charts are drawn with inline SVG and CSSOM widths
    expect(console.get_by_test_id("kpi-chart").first).to_be_visible(timeout=15000)
    console.get_by_test_id("tab-chat").click()
    assert console.evaluate("window.__csp") == []
    assert console.seen == {"errors": [], "csp_console": []}


def test_a_page_on_another_port_can_neither_read_nor_write_the_console(url, console, store):
    handoff = store.open_for(CUSTOMER)
    assert handoff is not None and handoff.agent == AGENT  # claimed by the signed-in agent
    before = [(e["kind"], e["text"]) for e in store.events(handoff.id)]
    site = AttackerSite(url, handoff.id)
    attacker = console.context.new_page()  # the same browser: the agent's cookie goes along
    try:
        attacker.goto(site.url)
        attacker.wait_for_function("window.fetchesDone === true", timeout=30000)
        results = attacker.evaluate("window.results")
        for name in ("read_queue", "read_handoff", "note_json", "reply_with_header"):
            assert results[name].startswith("blocked: TypeError"), (name, results[name])
        with attacker.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/messages")) as form:
            attacker.evaluate("window.submitForm()")
        assert form.value.status == 403  # the form's Origin is another origin
        with attacker.expect_response(lambda r: r.url == url + "/console/") as framed:
            attacker.evaluate("window.frameConsole()")
        assert "frame-ancestors 'none'" in framed.value.headers["content-security-policy"]
        attacker.wait_for_function("window.frameLoaded === true", timeout=15000)
        frame = attacker.frame_locator("#frame")
        assert frame.locator("#login-form").count() == 0  # not drawn inside the attacker's page
    finally:
        attacker.close()
        site.close()
    after = [(e["kind"], e["text"]) for e in store.events(handoff.id)]
    assert after == before, "the attacker's requests changed the hand-off"
    assert store.get(handoff.id).state == "with_agent"
    assert not [t for t in poll_texts(url, CUSTOMER) if "CSRF" in t]
    # The agent's own console still works.
    from playwright.sync_api import expect

    console.get_by_test_id("message-input").fill("攻击之后的正常回复")
    console.get_by_test_id("send").click()
    expect(
        console.get_by_test_id("conversation").locator('[data-testid="msg"][data-kind="agent_message"]').last
    ).to_contain_text("攻击之后的正常回复", timeout=15000)
    assert console.evaluate("window.__csp") == [] and console.seen["errors"] == []


def test_the_demo_widget_works_under_its_csp(url, browser):
    from playwright.sync_api import expect

    context = watched_context(browser)
    page = context.new_page()
    seen = watch(page)
    try:
        page.goto(url + "/demo/")
        page.get_by_test_id("widget-bubble").click()
        expect(page.get_by_test_id("widget-panel")).to_be_visible()
        # The widget's own styles (a <style> in its shadow root) apply.
        position = page.evaluate(
            "getComputedStyle(document.getElementById('faqbot-widget').shadowRoot.querySelector('.panel')).position"
        )
        assert position == "fixed"
        page.get_by_test_id("widget-input").fill("提现手续费是多少")
        page.get_by_test_id("widget-input").press("Enter")
        expect(page.locator('[data-testid="widget-msg"][data-from="bot"]').last).to_contain_text(
            "手续费", timeout=30000
        )
        assert page.evaluate("window.__csp") == []
        assert seen == {"errors": [], "csp_console": []}
    finally:
        context.close()


def test_forwarded_headers_from_an_untrusted_peer_are_ignored(url):
    login = {"name": AGENT, "password": PASSWORD}
    answer = call(url, "POST", "/console/api/login", {"X-Forwarded-Proto": "https"}, login)
    assert answer.status == 200 and not [c for c in answer.all("Set-Cookie") if "Secure" in c]
    spoofed = {
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "bot.example.com",
        "X-Faqbot-Console": "1",
        "Origin": "https://bot.example.com",
        "Cookie": f"faqbot_console={answer.json['token']}",
    }
    refused = call(url, "POST", "/console/api/handoffs/x/notes", spoofed, {"text": "hi"})
    assert refused.status == 403 and "cross-origin" in refused.error

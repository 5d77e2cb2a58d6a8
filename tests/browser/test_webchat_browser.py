"""The web chat in headless Chromium, on the demo Local Offer page, against real servers.

A whole conversation by keyboard alone, buttons, a reload that carries on the
same conversation, text that looks like HTML shown as text, axe-core with no
serious or critical violations, phone-sized and zoomed screens, the typing
indicator, losing and finding the server, and account linking and look-ups
through the socket.io channel. A screenshot of the page with a conversation is
saved in results/.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

import knowledge
from bot.store import accounts
from bot.store.db import sessions
from bot.store.models import AuditEvent
from tests.conftest import RESULTS_DIR, TEST_IDENTITY_KEY, demo_codes, record_result
from tests.support import servers

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = servers.ROOT / "node_modules" / "axe-core" / "axe.min.js"
QUESTION = "what does assess plan do review mean"
# The reply to QUESTION is one of the graduated approach's own answers, whichever the retrieval picks.
ANSWER = re.compile("|".join(re.escape(answer.text[:50]) for answer in knowledge.topic_answers("graduated_approach")))
MORE = "Each stage builds on the last"
INJECTION = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'
BOT = "#sen-chat .message.bot"
USER = "#sen-chat .message.user"

# The deepest focused element, through the chat's shadow root, described by its accessible name.
FOCUSED = """() => {
  let node = document.activeElement;
  while (node && node.shadowRoot && node.shadowRoot.activeElement) node = node.shadowRoot.activeElement;
  if (!node || node === document.body) return {name: "", inChat: false};
  const name = (node.getAttribute("aria-label") || node.textContent || node.id || node.tagName).trim();
  return {name, inChat: node.getRootNode() !== document};
}"""
WATCH_PAGE = """
window.__problems = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__problems.push("CSP blocked " + event.violatedDirective + " " + event.blockedURI);
});
"""


@pytest.fixture(scope="module")
def chat_url(rasa_sqlite: int, demo_store: str, server_logs: Path, chat_page_port: int) -> Iterator[str]:
    """The web server, with its demo page pointing the chat at the test Rasa server."""
    port = chat_page_port
    service = servers.start(
        "web server",
        [str(servers.BIN / "python"), "-m", "bot.web.server", "--port", str(port)],
        f"http://127.0.0.1:{port}/health",
        server_logs / f"web-{port}.log",
        servers.base_env(DATABASE_URL=demo_store, SEN_IDENTITY_KEY=TEST_IDENTITY_KEY, RASA_PORT=str(rasa_sqlite)),
    )
    yield f"http://127.0.0.1:{port}/"
    service.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: `make test` installs it (apt-get install chromium).")
    if not AXE.exists():
        pytest.fail("node_modules is missing: `make test` installs it (npm ci).")
    expect.set_options(timeout=20_000)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def _new_page(browser: Browser, **options: Any) -> Page:
    options.setdefault("viewport", {"width": 1280, "height": 800})
    context = browser.new_context(locale="en-GB", **options)
    context.add_init_script(WATCH_PAGE)
    page = context.new_page()
    page.set_default_timeout(30_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    page.on("console", lambda message: message.type == "error" and errors.append(f"console: {message.text}"))
    page.errors = errors  # type: ignore[attr-defined]  # errors seen by the page, kept on it for the checks below
    return page


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    opened = _new_page(browser)
    yield opened
    opened.context.close()


def assert_no_problems(page: Page) -> None:
    """Nothing blocked by the page's Content-Security-Policy, no script errors."""
    problems = page.errors + page.evaluate("window.__problems")  # type: ignore[attr-defined]  # set on the page above
    assert problems == []


def focused(page: Page) -> dict[str, Any]:
    return page.evaluate(FOCUSED)


def press_until_focused(page: Page, key: str, name: str, limit: int = 40) -> None:
    for _ in range(limit):
        page.keyboard.press(key)
        if focused(page)["name"] == name:
            return
    raise AssertionError(f"{key} never reached {name!r}; focus is on {focused(page)}")


def launcher(page: Page) -> Any:
    return page.get_by_role("button", name="Ask about SEN support")


def chat_input(page: Page) -> Any:
    return page.get_by_label("Your message")


def conversation(page: Page) -> Any:
    return page.get_by_role("log", name="Conversation")


def open_chat(page: Page, url: str) -> None:
    page.goto(url)
    launcher(page).click()
    expect(chat_input(page)).to_be_focused()


def say(page: Page, text: str, expected: str | re.Pattern[str]) -> None:
    """Type a message as a person would, press Enter, and wait for a reply holding ``expected``."""
    chat_input(page).focus()
    page.keyboard.type(text)
    page.keyboard.press("Enter")
    expect(page.locator(BOT).filter(has_text=expected).last).to_be_visible()


def bot_texts(page: Page) -> list[str]:
    return page.locator(f"{BOT} .text").all_text_contents()


def test_a_whole_conversation_by_keyboard_alone(page: Page, chat_url: str) -> None:
    page.goto(chat_url)
    press_until_focused(page, "Tab", "Ask about SEN support")
    expect(launcher(page)).to_have_attribute("aria-expanded", "false")
    expect(launcher(page)).to_have_attribute("aria-controls", "sen-chat-panel")
    dialog = page.get_by_role("dialog", name="SEN Support Assistant")
    expect(dialog).to_be_hidden()

    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    expect(launcher(page)).to_have_attribute("aria-expanded", "true")
    expect(chat_input(page)).to_be_focused()

    page.keyboard.type(QUESTION)
    page.keyboard.press("Enter")
    log = conversation(page)
    expect(log).to_have_attribute("aria-live", "polite")
    expect(log.locator(".message.user")).to_have_text([f"You said: {QUESTION}"])
    answer = log.locator(".message.bot").filter(has_text=ANSWER)
    expect(answer).to_have_count(1)
    expect(answer).to_contain_text("The assistant said:")
    expect(log).to_contain_text("SEND Code of Practice")
    expect(log).to_contain_text("Norfolk SENDIASS")
    expect(page.locator("#sen-chat .typing")).to_be_hidden()
    expect(chat_input(page)).to_be_focused()

    offer = log.get_by_role("link", name=re.compile(r"^https:\/\/www\.norfolk\.gov\.uk\/send"))
    expect(offer.first).to_have_attribute("href", "https://www.norfolk.gov.uk/send")
    expect(offer.first).to_have_attribute("rel", "noopener noreferrer")
    expect(offer.first).to_have_attribute("target", "_blank")

    RESULTS_DIR.mkdir(exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(RESULTS_DIR / "webchat.png"))

    press_until_focused(page, "Shift+Tab", "Tell me more", limit=15)
    page.keyboard.press("Enter")
    expect(log.locator(".message.user").last).to_have_text("You said: Tell me more")
    expect(log.locator(".message.bot").filter(has_text=MORE)).to_have_count(1)
    expect(chat_input(page)).to_be_focused()

    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(launcher(page)).to_have_attribute("aria-expanded", "false")
    expect(launcher(page)).to_be_focused()
    assert_no_problems(page)


def test_the_page_opener_returns_focus_to_itself(page: Page, chat_url: str) -> None:
    page.goto(chat_url)
    press_until_focused(page, "Tab", "Start a chat")
    page.keyboard.press("Enter")
    expect(chat_input(page)).to_be_focused()
    page.get_by_role("button", name="Close chat").click()
    expect(page.get_by_role("button", name="Start a chat")).to_be_focused()


def test_a_reload_carries_on_the_same_conversation(browser: Browser, page: Page, chat_url: str) -> None:
    open_chat(page, chat_url)
    say(page, QUESTION, ANSWER)
    expect(page.get_by_role("button", name="Tell me more")).to_be_visible()  # the whole reply is in before reloading
    session = page.evaluate("sessionStorage.getItem('sen-chat.session')")
    assert re.fullmatch(r"[0-9a-f]{64}", session)
    shown = bot_texts(page)

    page.reload()
    expect(page.get_by_role("dialog", name="SEN Support Assistant")).to_be_visible()
    expect(page.locator(f"{BOT} .text")).to_have_text(shown)
    expect(page.locator(f"{USER} .text")).to_have_text([f"You said: {QUESTION}"])
    expect(page.get_by_role("button", name="Tell me more")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('sen-chat.session')") == session

    # "tell me more" only makes sense inside the conversation held before the reload.
    say(page, "tell me more", MORE)

    other = _new_page(browser)
    try:
        open_chat(other, chat_url)
        assert other.evaluate("sessionStorage.getItem('sen-chat.session')") not in (None, session)
        expect(other.locator(BOT)).to_have_count(0)
    finally:
        other.context.close()
    assert_no_problems(page)


def test_text_that_looks_like_html_is_shown_as_text(page: Page, chat_url: str) -> None:
    open_chat(page, chat_url)
    chat_input(page).fill(INJECTION)
    page.keyboard.press("Enter")
    expect(page.locator(f"{USER} .text")).to_have_text([f"You said: {INJECTION}"])
    expect(page.locator(BOT).first).to_be_visible()
    assert page.locator("#sen-chat img, #sen-chat .log script").count() == 0
    assert page.evaluate("typeof window.__pwned") == "undefined"

    # The assistant's words take the same path when a transcript is restored: a message with
    # markup and a javascript: address stays text, and only the https address becomes a link.
    hostile = (
        'Read <b>this</b> <a href="javascript:window.__pwned=3">now</a> javascript:alert(1) https://example.org/a.'
    )
    page.evaluate(
        "([text]) => { const kept = JSON.parse(sessionStorage.getItem('sen-chat.transcript'));"
        " kept.push({from: 'bot', text, buttons: [{title: '<i>Yes</i>', payload: '/affirm'}]});"
        " sessionStorage.setItem('sen-chat.transcript', JSON.stringify(kept)); }",
        [hostile],
    )
    page.reload()
    restored = page.locator(BOT).last
    shown = hostile.replace("https://example.org/a.", "https://example.org/a (opens in a new tab).")
    expect(restored.locator(".text")).to_have_text(f"The assistant said: {shown}")
    expect(restored.get_by_role("link")).to_have_count(1)
    expect(restored.get_by_role("link")).to_have_attribute("href", "https://example.org/a")
    expect(restored.get_by_role("button", name="<i>Yes</i>")).to_be_visible()
    assert page.locator("#sen-chat b, #sen-chat i, #sen-chat img").count() == 0
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert_no_problems(page)


def axe_violations(page: Page) -> list[dict[str, Any]]:
    if page.evaluate("typeof window.axe") == "undefined":
        page.evaluate("(source) => { (0, eval)(source); }", AXE.read_text())
    return page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations.map(
             (v) => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => n.target.join(" "))}))"""
    )


def test_axe_finds_no_serious_or_critical_violations(browser: Browser, page: Page, chat_url: str) -> None:
    found: dict[str, list[dict[str, Any]]] = {}
    page.goto(chat_url)
    expect(launcher(page)).to_be_visible()
    found["page, chat closed"] = axe_violations(page)
    launcher(page).click()
    say(page, QUESTION, ANSWER)
    found["chat open, with a conversation"] = axe_violations(page)
    say(page, "how often should the school meet us", "three times")
    say(page, "what is the local offer", "Local Offer")
    say(page, "my code is ZZZZ-9999-AJRT", "tries")
    scroller = page.locator("#sen-chat .scroller")
    assert scroller.evaluate("node => node.scrollHeight > node.clientHeight"), (
        "the conversation is long enough to scroll"
    )
    found["chat open, a conversation longer than the panel"] = axe_violations(page)

    phone = _new_page(
        browser, viewport={"width": 375, "height": 667}, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    try:
        open_chat(phone, chat_url)
        say(phone, "how often should the school meet us", "three times")
        found["phone, chat open"] = axe_violations(phone)
    finally:
        phone.context.close()

    counts = {state: _by_impact(violations) for state, violations in found.items()}
    record_result("webchat_axe", {"counts_by_impact": counts, "violations": found})
    serious = {
        state: [v for v in violations if v["impact"] in ("serious", "critical")] for state, violations in found.items()
    }
    assert serious == {state: [] for state in found}, json.dumps(serious, indent=2)


def _by_impact(violations: list[dict[str, Any]]) -> dict[str, int]:
    counts = {"critical": 0, "serious": 0, "moderate": 0, "minor": 0}
    for violation in violations:
        counts[violation["impact"]] = counts.get(violation["impact"], 0) + len(violation["nodes"])
    return counts


@pytest.mark.parametrize(
    "screen",
    [
        {"viewport": {"width": 375, "height": 667}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True},
        # A 1280 x 720 window at 200% zoom lays out as 640 x 360 CSS pixels at twice the density.
        {"viewport": {"width": 640, "height": 360}, "device_scale_factor": 2},
        # At 400% zoom (WCAG reflow): 320 CSS pixels wide.
        {"viewport": {"width": 320, "height": 256}, "device_scale_factor": 4},
    ],
    ids=["phone", "zoom-200", "zoom-400"],
)
def test_small_screens_and_zoom_fill_the_screen_and_stay_usable(browser: Browser, chat_url: str, screen: dict) -> None:
    page = _new_page(browser, **screen)
    try:
        width, height = screen["viewport"]["width"], screen["viewport"]["height"]
        page.goto(chat_url)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        launcher(page).click()
        dialog = page.get_by_role("dialog", name="SEN Support Assistant")
        expect(dialog).to_have_attribute("aria-modal", "true")
        box = dialog.bounding_box()
        assert box and box["x"] == 0 and box["y"] == 0 and box["width"] == width and box["height"] == height
        for control in (chat_input(page), page.get_by_role("button", name="Send")):
            expect(control).to_be_in_viewport(ratio=1)
        expect(page.get_by_role("button", name="Close chat")).to_be_visible()

        page.get_by_role("button", name="Send").focus()
        page.keyboard.press("Tab")
        assert focused(page)["inChat"], "Tab left the full-screen chat"

        chat_input(page).fill(QUESTION)
        page.get_by_role("button", name="Send").click()
        expect(page.locator(BOT).filter(has_text=ANSWER)).to_be_visible()
        for control in (chat_input(page), page.get_by_role("button", name="Send")):
            expect(control).to_be_in_viewport(ratio=1)
        scroller = page.locator("#sen-chat .scroller")
        assert scroller.evaluate("(node) => node.scrollWidth <= node.clientWidth")
        if screen["viewport"]["width"] == 375:
            page.screenshot(path=str(RESULTS_DIR / "webchat-phone.png"))
        assert_no_problems(page)
    finally:
        page.context.close()


def test_a_typing_indicator_shows_until_the_reply_arrives(page: Page, chat_url: str) -> None:
    holding = True
    held: list[Any] = []
    pages: list[Any] = []

    def through(socket: Any) -> None:
        server = socket.connect_to_server()
        pages.append(socket)

        def to_page(message: Any) -> None:
            if holding and "bot_uttered" in str(message):
                held.append(message)
            else:
                socket.send(message)

        server.on_message(to_page)

    page.route_web_socket(re.compile(r"/socket\.io/"), through)
    open_chat(page, chat_url)
    typing = page.locator("#sen-chat .typing")
    expect(typing).to_be_hidden()
    chat_input(page).fill(QUESTION)
    page.keyboard.press("Enter")
    expect(typing).to_be_visible()
    expect(typing).to_contain_text("The assistant is writing a reply")
    for _ in range(300):
        if held:
            break
        page.wait_for_timeout(100)
    assert held, "no reply reached the page"
    expect(page.locator(BOT)).to_have_count(0)

    holding = False
    for message in held:
        pages[-1].send(message)
    expect(page.locator(BOT).filter(has_text=ANSWER)).to_be_visible()
    expect(typing).to_be_hidden()


def test_losing_the_server_says_so_and_the_chat_reconnects(page: Page, chat_url: str) -> None:
    down = False
    connections: list[Any] = []

    def through(socket: Any) -> None:
        if down:
            socket.close()
        else:
            socket.connect_to_server()
            connections.append(socket)

    def polling(route: Any) -> None:
        if down:
            route.abort()
        else:
            route.continue_()

    page.route_web_socket(re.compile(r"/socket\.io/"), through)
    page.route(re.compile(r"/socket\.io/"), polling)
    open_chat(page, chat_url)
    say(page, "hello", "")

    down = True
    for socket in connections:
        socket.close()
    status = page.locator("#sen-chat .status")
    expect(status).to_have_text(re.compile("lost|can\u2019t be reached"))
    expect(status).to_have_attribute("role", "status")
    chat_input(page).fill(QUESTION)
    page.keyboard.press("Enter")
    expect(page.locator(f"{USER} .text").last).to_have_text(f"You said: {QUESTION}")
    expect(page.locator(BOT).filter(has_text=ANSWER)).to_have_count(0)

    down = False
    expect(page.locator(BOT).filter(has_text=ANSWER)).to_be_visible(timeout=30_000)
    expect(status).to_have_text("")


def test_linking_and_look_ups_through_the_web_chat(
    page: Page, chat_url: str, demo_store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    codes = demo_codes(demo_store)
    open_chat(page, chat_url)
    say(page, f"my code is {codes.staff_code}", "linked as Mrs Priya Ashdown (SENCO)")
    say(page, "which reviews are overdue?", "Ben Okafor (Year 4): was due")

    # The chat user is this tab's session id on the socket.io channel, and the audit trail says so.
    session = page.evaluate("sessionStorage.getItem('sen-chat.session')")
    monkeypatch.setenv("SEN_IDENTITY_KEY", TEST_IDENTITY_KEY)
    with sessions(demo_store).begin() as db:
        person = accounts.who_is(db, "socketio", session)
        assert person is not None and person.kind == "staff"
        actions = {event.action for event in db.query(AuditEvent).filter(AuditEvent.channel == "socketio")}
    assert "link" in actions and len(actions) > 1

    # Starting again is a new chat user, not linked.
    page.get_by_role("button", name="Start again").click()
    expect(page.locator(BOT)).to_have_count(0)
    assert page.evaluate("sessionStorage.getItem('sen-chat.session')") != session
    say(page, "which reviews are overdue?", "")
    expect(page.locator(BOT).last).not_to_contain_text("Ben Okafor")
    assert_no_problems(page)

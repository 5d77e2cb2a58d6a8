"""The assistant's small web server: the web chat, and private links to printable documents.

Usage: python -m bot.web.server [--port PORT]

``/`` is a demonstration Local Offer page with the web chat on it, and
``/chat/`` holds the chat's files (``sen-chat.js``, its styles and the
socket.io client from ``node_modules``), which any page can embed with one
script tag.

``/documents/<token>.pdf`` and ``/documents/<token>.html`` show what a link
from the chat opens (a plan, or a pupil's evidence summary for an EHC needs
assessment request), rendered from the store at that moment (nothing about a
pupil is written to disk). Unknown or expired links get a kind page that
says what to do.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import re
import string
import sys
from pathlib import Path
from urllib.parse import urlsplit

from aiohttp import web

import knowledge
from bot import settings
from bot.documents.evidence import evidence_html
from bot.documents.pdf import pdf_from_html
from bot.documents.plan import plan_html
from bot.store import document_links
from bot.store.db import sessions
from bot.store.evidence import History

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
}
NOT_FOUND = """<!doctype html><html lang="en-GB"><head><meta charset="utf-8"><title>Link not found</title></head>
<body><h1>This link has expired or is not right</h1>
<p>Links to plans and evidence summaries last 7 days. Ask the SEN Support Assistant for a new one, for example
"send me the plan document", or ask the school for a copy.</p></body></html>"""
FILENAMES = {"plan": "sen-support-plan.pdf", "evidence": "ehc-request-evidence.pdf"}


def _place(council_id: str) -> knowledge.Council:
    return knowledge.council(council_id if council_id in knowledge.councils() else settings.council_id())


def _help_lines(place: knowledge.Council) -> list[str]:
    return [knowledge.local_help(place), knowledge.sendiass_contact(place)]


def render(token: str) -> str | None:
    """The HTML of what a token opens, or None."""
    rendered = render_document(token)
    return rendered[0] if rendered else None


def render_document(token: str) -> tuple[str, str] | None:
    """The HTML of what a token opens, and its kind (plan or evidence); None for a wrong link."""
    with sessions().begin() as session:
        opened = document_links.open_link(session, token)
        if opened is None:
            return None
        if isinstance(opened, History):
            place = _place(opened.pupil.council)
            return evidence_html(opened, place, _help_lines(place)), "evidence"
        pupil = opened.pupil
        place = _place(pupil.school.council)
        teacher = pupil.class_teacher.name if pupil.class_teacher else None
        return plan_html(opened, pupil.school.name, teacher, place.name, _help_lines(place)), "plan"


async def document(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    token, _, kind = name.rpartition(".")
    if kind not in ("pdf", "html") or not token:
        return web.Response(status=404, text=NOT_FOUND, content_type="text/html", headers=SECURITY_HEADERS)
    rendered = await asyncio.to_thread(render_document, token)
    if rendered is None:
        return web.Response(status=404, text=NOT_FOUND, content_type="text/html", headers=SECURITY_HEADERS)
    html, opened = rendered
    if kind == "html":
        return web.Response(text=html, content_type="text/html", headers=SECURITY_HEADERS)
    pdf = await asyncio.to_thread(pdf_from_html, html)
    headers = {**SECURITY_HEADERS, "Content-Disposition": f'inline; filename="{FILENAMES[opened]}"'}
    return web.Response(body=pdf, content_type="application/pdf", headers=headers)


WEBCHAT_DIR = Path(__file__).resolve().parent / "static"
CHAT_FILES = {
    "sen-chat.js": (WEBCHAT_DIR / "sen-chat.js", "text/javascript"),
    "sen-chat.css": (WEBCHAT_DIR / "sen-chat.css", "text/css"),
    "icon.svg": (WEBCHAT_DIR / "icon.svg", "image/svg+xml"),
    "socket.io.min.js": (
        settings.PROJECT_ROOT / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js",
        "text/javascript",
    ),
}
PAGE_FILES = {"local-offer.css": (WEBCHAT_DIR / "local-offer.css", "text/css")}
ASSET_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Resource-Policy": "cross-origin",
}
HOST_HEADER = re.compile(r"(?P<host>[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")


def chat_server(request: web.Request) -> str:
    """The Rasa server's address for browsers: ``SEN_CHAT_SERVER``, or this host on the Rasa port."""
    configured = settings.chat_server_url()
    if configured:
        return configured
    found = HOST_HEADER.fullmatch(request.host or "")
    host = found.group("host") if found else "localhost"
    scheme = "https" if request.scheme == "https" else "http"
    return f"{scheme}://{host}:{settings.rasa_port()}"


def page_policy(server: str) -> str:
    """The demo page's Content-Security-Policy: its own files, and the chat server over HTTP and WebSocket."""
    parts = urlsplit(server)
    secure = parts.scheme == "https"
    origins = f"{'https' if secure else 'http'}://{parts.netloc} {'wss' if secure else 'ws'}://{parts.netloc}"
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        f"connect-src 'self' {origins}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


def _link(href: str, text: str) -> str:
    return f'<a href="{html.escape(href)}">{html.escape(text)}</a>'


def demo_page(server: str) -> str:
    """The demonstration Local Offer page for the council the assistant runs for, with the chat's tag."""
    place = knowledge.council(settings.council_id())
    service = place.sendiass

    def check(name: str, part: str = "sendiass") -> str:
        return "" if place.confirmed(part, name) else " " + html.escape(knowledge.UNCONFIRMED)

    lines = []
    if service.get("phone"):
        lines.append(
            f"Telephone: {_link('tel:' + service['phone'].replace(' ', ''), service['phone'])}{check('phone')}"
        )
    if service.get("email"):
        lines.append(f"Email: {_link('mailto:' + service['email'], service['email'])}{check('email')}")
    if service.get("url"):
        lines.append(f"Website: {_link(service['url'], service['url'])}{check('url')}")
    template = string.Template((WEBCHAT_DIR / "local-offer.html").read_text(encoding="utf-8"))
    return template.substitute(
        council_name=html.escape(place.name),
        council_short=html.escape(place.short_name),
        offer_name=html.escape(place.local_offer["name"]),
        offer_url=html.escape(place.local_offer["url"]),
        offer_check=check("url", "local_offer"),
        sendiass_name=html.escape(service["name"]),
        sendiass_lines="\n      ".join(f"<li>{line}</li>" for line in lines),
        chat_server=html.escape(server),
        kept_days=str(settings.conversation_days()),
    )


async def home(request: web.Request) -> web.Response:
    server = chat_server(request)
    headers = {
        "Cache-Control": "no-cache",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": page_policy(server),
    }
    return web.Response(text=demo_page(server), content_type="text/html", headers=headers)


def _file(files: dict[str, tuple[Path, str]], name: str) -> web.StreamResponse:
    found = files.get(name)
    if found is None or not found[0].is_file():
        raise web.HTTPNotFound(text="Not found")
    path, kind = found
    return web.FileResponse(path, headers={**ASSET_HEADERS, "Content-Type": f"{kind}; charset=utf-8"})


async def chat_file(request: web.Request) -> web.StreamResponse:
    return _file(CHAT_FILES, request.match_info["name"])


async def page_file(request: web.Request) -> web.StreamResponse:
    return _file(PAGE_FILES, request.match_info["name"])


async def health(_request: web.Request) -> web.Response:
    return web.Response(text="ok")


def make_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/health", health)
    app.router.add_get("/documents/{name}", document)
    app.router.add_get("/", home)
    app.router.add_get("/chat/{name}", chat_file)
    app.router.add_get("/assets/{name}", page_file)
    return app


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.web.server", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=settings.web_port())
    args = parser.parse_args(argv)
    web.run_app(make_app(), host=settings.bind_host(), port=args.port, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The assistant's small web server: private links to printable plans.

Usage: python -m bot.web [--port PORT]

``/documents/<token>.pdf`` and ``/documents/<token>.html`` show the plan a
link from the chat opens, rendered from the store at that moment (nothing
about a pupil is written to disk). Unknown or expired links get a kind page
that says what to do.
"""
from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Optional

from aiohttp import web

import knowledge
from bot import settings
from bot.plans.document import plan_html, plan_pdf
from bot.store import documents
from bot.store.db import sessions

SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
}
NOT_FOUND = """<!doctype html><html lang="en-GB"><head><meta charset="utf-8"><title>Link not found</title></head>
<body><h1>This link has expired or is not right</h1>
<p>Links to plans last 7 days. Ask the SEN Support Assistant for a new one, for example
"send me the plan document", or ask the school for a copy.</p></body></html>"""


def render(token: str) -> Optional[str]:
    """The HTML of the plan a token opens, or None."""
    with sessions().begin() as session:
        plan = documents.open_link(session, token)
        if plan is None:
            return None
        pupil = plan.pupil
        place = knowledge.council(pupil.school.council if pupil.school.council in knowledge.councils() else settings.council_id())
        help_lines = [knowledge.local_help(place), knowledge.sendiass_contact(place)]
        teacher = pupil.class_teacher.name if pupil.class_teacher else None
        return plan_html(plan, pupil.school.name, teacher, place.name, help_lines)


async def document(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    token, _, kind = name.rpartition(".")
    if kind not in ("pdf", "html") or not token:
        return web.Response(status=404, text=NOT_FOUND, content_type="text/html", headers=SECURITY_HEADERS)
    html = await asyncio.to_thread(render, token)
    if html is None:
        return web.Response(status=404, text=NOT_FOUND, content_type="text/html", headers=SECURITY_HEADERS)
    if kind == "html":
        return web.Response(text=html, content_type="text/html", headers=SECURITY_HEADERS)
    pdf = await asyncio.to_thread(plan_pdf, html)
    headers = {**SECURITY_HEADERS, "Content-Disposition": 'inline; filename="sen-support-plan.pdf"'}
    return web.Response(body=pdf, content_type="application/pdf", headers=headers)


async def health(_request: web.Request) -> web.Response:
    return web.Response(text="ok")


def make_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/health", health)
    app.router.add_get("/documents/{name}", document)
    return app


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.web", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=settings.web_port())
    args = parser.parse_args(argv)
    web.run_app(make_app(), host="0.0.0.0", port=args.port, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

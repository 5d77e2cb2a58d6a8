"""The assistant's small web server: private links to printable plans and evidence summaries.

Usage: python -m bot.web [--port PORT]

``/documents/<token>.pdf`` and ``/documents/<token>.html`` show what a link
from the chat opens (a plan, or a pupil's evidence summary for an EHC needs
assessment request), rendered from the store at that moment (nothing about a
pupil is written to disk). Unknown or expired links get a kind page that
says what to do.
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
from bot.plans.evidence_document import evidence_html
from bot.store import documents
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


def render(token: str) -> Optional[str]:
    """The HTML of what a token opens, or None."""
    rendered = render_document(token)
    return rendered[0] if rendered else None


def render_document(token: str) -> Optional[tuple[str, str]]:
    """The HTML of what a token opens, and its kind (plan or evidence); None for a wrong link."""
    with sessions().begin() as session:
        opened = documents.open_link(session, token)
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
    pdf = await asyncio.to_thread(plan_pdf, html)
    headers = {**SECURITY_HEADERS, "Content-Disposition": f'inline; filename="{FILENAMES[opened]}"'}
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

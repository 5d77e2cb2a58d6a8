"""The printable plan: HTML laid out like the template, and a PDF whose text reads back."""
from __future__ import annotations

import datetime as dt
import io

from pypdf import PdfReader
from sqlalchemy.orm import sessionmaker

from bot import dates
from bot.plans.document import plan_html, plan_pdf
from bot.store import demo, records


def _amy(factory: sessionmaker) -> tuple[str, bytes]:
    with factory.begin() as session:
        school = demo.seed(session)
        plan = records.current_plan(session, school.parent_pupil_id)
        plan.strengths = "Loves <b>drawing</b> & animals <script>alert('x')</script>"
        html = plan_html(plan, demo.DEMO_SCHOOL, "Mr Tom Ellery", "Norfolk", ["Norfolk SENDIASS: 01603 704070"])
    return html, plan_pdf(html)


def test_typed_text_is_shown_as_text_never_markup(factory: sessionmaker) -> None:
    html, _ = _amy(factory)
    assert "<script>" not in html and "<b>drawing</b>" not in html
    assert "Loves &lt;b&gt;drawing&lt;/b&gt; &amp; animals &lt;script&gt;" in html


def test_the_pdf_reads_back_with_every_section(factory: sessionmaker) -> None:
    _, pdf = _amy(factory)
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 2
    # Table cells wrap, so compare without white space.
    text = "".join("".join(page.extract_text().split()) for page in reader.pages)
    for expected in (
        "Special Educational Needs (SEN) Support Plan", "Amy Carter", "Brambleway Primary School", "Year 3",
        "Loves <b>drawing</b> & animals", "I go quiet and rub my eyes", "Sitting near the front",
        "Read with Amy for ten", "Use my overlay", "Mrs Priya Ashdown", "Assess, Plan, Do, Review",
        "Cognition and Learning", "Small-group phonics", "Blending sounds", "40 of the 50 Phase 5 words",
        "Reads 28 of 50 words", "Norfolk SENDIASS: 01603 704070", "Mr Tom Ellery",
        dates.long_date(dates.today() + dt.timedelta(days=10)),
    ):
        assert "".join(expected.split()) in text, expected

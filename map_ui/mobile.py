"""The phone page (/m/): one server-rendered HTML shell; `static/mobile/mobile.js` does the rest."""

from __future__ import annotations

import html
from functools import cache
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parent / "templates" / "mobile.html"


@cache
def _template() -> str:
    return TEMPLATE.read_text(encoding="utf-8")


def build_mobile_page(title: str, static_url: str) -> str:
    """The page with its title and the URL its CSS and JS are served under."""
    return _template().format(title=html.escape(title), static=html.escape(static_url))

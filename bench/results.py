"""bench/RESULTS.md holds every benchmark's latest figures, one marked section each.

A benchmark rewrites only its own section (between `<!-- bench:NAME -->` and
`<!-- /bench:NAME -->`), so running one never erases another's figures.
"""

from __future__ import annotations

import re
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def write_section(name: str, markdown: str, path: Path = RESULTS) -> None:
    """Replace (or append) the section `name` of RESULTS.md with `markdown`."""
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{start}\n{markdown.strip()}\n{end}"
    text = path.read_text() if path.exists() else ""
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = (text.rstrip() + "\n\n" if text.strip() else "") + block
    path.write_text(text.rstrip() + "\n")


def read_section(name: str, path: Path = RESULTS) -> str | None:
    """The markdown of section `name` (without its markers), None if absent."""
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    text = path.read_text() if path.exists() else ""
    found = re.search(re.escape(start) + r"\n?(.*?)\n?" + re.escape(end), text, re.S)
    return found.group(1) if found else None

"""Card details as HTML: the little markdown cards use (paragraphs, bullet lists, bold, links), nothing else.

Everything is escaped first, then those are applied, so no text of a card can inject markup; a link goes
only to this service's own pages or to an http(s) address.
"""

from __future__ import annotations

import html
import re

_BOLD = re.compile(r"\*\*(.+?)\*\*")
_BULLET = re.compile(r"^\s*[-*]\s+")
_LINK = re.compile(r"\[([^\]]+)\]\(((?:https?://|/)[^\s()]+)\)")  # escaped: quotes are already &quot;


def _inline(text: str) -> str:
    escaped = _BOLD.sub(r"<strong>\1</strong>", html.escape(text, quote=True))
    return _LINK.sub(r'<a href="\2">\1</a>', escaped)


def to_html(markdown: str) -> str:
    """``"**a**\\n- b\\n\\nc"`` → ``<p><strong>a</strong></p><ul><li>b</li></ul><p>c</p>``."""
    out: list[str] = []
    paragraph: list[str] = []
    items: list[str] = []

    def flush() -> None:
        if paragraph:
            out.append(f"<p>{_inline(' '.join(paragraph))}</p>")
            paragraph.clear()
        if items:
            out.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in items) + "</ul>")
            items.clear()

    for raw in markdown.splitlines():
        line = raw.strip()
        if not line:
            flush()
        elif _BULLET.match(line):
            if paragraph:
                flush()
            items.append(_BULLET.sub("", line, count=1))
        elif items and raw.startswith((" ", "\t")):  # a bullet's continuation line
            items[-1] += " " + line
        else:
            if items:
                flush()
            paragraph.append(line)
    flush()
    return "".join(out)

"""A small HTML reader for the console's server-side rendering tests (stdlib only):
a tree of elements with ids, text and attributes, and the checks every page must pass
(CSP: no inline script or style; CSRF on every POST form; accessibility basics)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    parent: Element | None = None
    children: list[Element] = field(default_factory=list)
    content: list[str | Element] = field(default_factory=list, repr=False)  # text and children, in order

    @property
    def text(self) -> str:
        parts = [c if isinstance(c, str) else c.text for c in self.content]
        return " ".join(" ".join(parts).split())

    def iter(self):
        yield self
        for child in self.children:
            yield from child.iter()

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Element]:
        return [e for e in self.iter() if (tag is None or e.tag == tag)
                and all(e.attrs.get(k.rstrip("_").replace("_", "-")) == v for k, v in attrs.items())]

    def find(self, tag: str | None = None, **attrs: str) -> Element | None:
        found = self.find_all(tag, **attrs)
        return found[0] if found else None

    def ancestors(self):
        node = self.parent
        while node is not None:
            yield node
            node = node.parent


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.current = self.root

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: (v if v is not None else "") for k, v in attrs}, self.current)
        self.current.children.append(element)
        self.current.content.append(element)
        if tag not in VOID:
            self.current = element

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: (v or "") for k, v in attrs}, self.current)
        self.current.children.append(element)
        self.current.content.append(element)

    def handle_endtag(self, tag: str) -> None:
        node = self.current
        while node is not self.root and node.tag != tag:
            node = node.parent  # type: ignore[assignment]
        if node is not self.root:
            self.current = node.parent  # type: ignore[assignment]

    def handle_data(self, data: str) -> None:
        self.current.content.append(data)


def parse(text: str) -> Element:
    builder = _Builder()
    builder.feed(text)
    builder.close()
    return builder.root


def page_problems(doc: Element) -> list[str]:
    """What a console page must never have, as readable findings (empty = fine)."""
    problems: list[str] = []
    for e in doc.iter():
        if e.tag == "script" and ("src" not in e.attrs or e.text):
            problems.append("inline <script>")
        if e.tag == "style":
            problems.append("<style> element")
        if "style" in e.attrs:
            problems.append(f"style attribute on <{e.tag}>")
        for name in e.attrs:
            if name.startswith("on"):
                problems.append(f"inline handler {name} on <{e.tag}>")
        if e.tag in ("a", "form") and (e.attrs.get("href", "") + e.attrs.get("action", "")).startswith("javascript:"):
            problems.append("javascript: URL")
    ids = Counter(e.attrs["id"] for e in doc.iter() if "id" in e.attrs)
    problems += [f"duplicate id {i!r}" for i, n in ids.items() if n > 1]
    labelled = {e.attrs.get("for") for e in doc.find_all("label")}
    for e in doc.iter():
        if e.tag in ("input", "select", "textarea") and e.attrs.get("type") not in ("hidden", "submit", "button"):
            inside_label = any(a.tag == "label" for a in e.ancestors())
            if e.attrs.get("id") not in labelled and "aria-label" not in e.attrs and not inside_label:
                problems.append(f"unlabelled <{e.tag} name={e.attrs.get('name')!r}>")
        if e.tag == "button" and not e.text and "aria-label" not in e.attrs:
            problems.append("button without a name")
    for form in doc.find_all("form"):
        if form.attrs.get("method", "get").lower() == "post":
            names = {i.attrs.get("name") for i in form.find_all("input")}
            if "csrf" not in names and "signin_token" not in names:
                problems.append(f"POST form to {form.attrs.get('action')} without a CSRF token")
    for table in doc.find_all("table"):
        if table.find("caption") is None:
            problems.append("table without a caption")
        problems += ["header cell without scope" for th in table.find_all("th") if "scope" not in th.attrs]
    html = doc.find("html")
    if html is None or not html.attrs.get("lang"):
        problems.append("no <html lang>")
    if len(doc.find_all("h1")) != 1:
        problems.append(f"{len(doc.find_all('h1'))} <h1> elements")
    if doc.find("main") is None:
        problems.append("no <main>")
    return problems

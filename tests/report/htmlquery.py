"""A small HTML tree (the standard library's parser) and CSS selectors over it, for tests that read the
report's page: compound selectors of tag, #id, .class, [attr] and [attr=value] (quoted or not), joined
by descendant spaces. Enough for the report's own selectors; no dependency."""

from __future__ import annotations

import re
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Node:
    def __init__(self, tag: str, attrs: dict, parent: Node | None):
        self.tag, self.attrs, self.parent = tag, attrs, parent
        self.children: list[Node | str] = []

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def iter(self):
        for c in self.children:
            if isinstance(c, Node):
                yield c
                yield from c.iter()

    def select(self, selector: str) -> list[Node]:
        parts = [_compound(p) for p in selector.split()]
        return [n for n in self.iter() if _match_chain(n, parts)]

    def select_one(self, selector: str) -> Node | None:
        found = self.select(selector)
        return found[0] if found else None

    def ancestor(self, tag: str) -> Node | None:
        p = self.parent
        while p is not None and p.tag != tag:
            p = p.parent
        return p


class _Builder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {}, None)
        self.cur = self.root

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: (v if v is not None else "") for k, v in attrs}, self.cur)
        self.cur.children.append(node)
        if tag not in VOID:
            self.cur = node

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(Node(tag, {k: (v or "") for k, v in attrs}, self.cur))

    def handle_endtag(self, tag):
        n = self.cur
        while n is not None and n.tag != tag:
            n = n.parent
        if n is not None and n.parent is not None:
            self.cur = n.parent

    def handle_data(self, data):
        self.cur.children.append(data)


def parse(page: str) -> Node:
    b = _Builder()
    b.feed(page)
    b.close()
    return b.root


_TOKEN = re.compile(r"([#.]?)([\w-]+)|\[([\w-]+)(?:=(\"[^\"]*\"|'[^']*'|[^\]]*))?\]")


def _compound(text: str) -> list[tuple[str, str, str | None]]:
    out, pos = [], 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise ValueError(f"selector not understood: {text!r}")
        if m.group(3):
            value = m.group(4)
            out.append(("attr", m.group(3), value.strip("\"'") if value is not None else None))
        else:
            out.append(({"": "tag", "#": "id", ".": "class"}[m.group(1)], m.group(2), None))
        pos = m.end()
    return out


def _match(n: Node, parts) -> bool:
    for kind, name, value in parts:
        if kind == "tag" and n.tag != name:
            return False
        if kind == "id" and n.attrs.get("id") != name:
            return False
        if kind == "class" and name not in n.attrs.get("class", "").split():
            return False
        if kind == "attr" and (name not in n.attrs or (value is not None and n.attrs[name] != value)):
            return False
    return True


def _match_chain(n: Node, chain) -> bool:
    if not _match(n, chain[-1]):
        return False
    p, rest = n.parent, chain[:-1]
    while rest and p is not None:
        if _match(p, rest[-1]):
            rest = rest[:-1]
        p = p.parent
    return not rest

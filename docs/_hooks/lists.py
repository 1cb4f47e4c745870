"""mkdocs hook: a list may start right after a paragraph line, as in the docstrings.

Python-Markdown starts a list only after a blank line; the docstrings write
"**Arguments:**" followed directly by "- name: ...". This preprocessor inserts the blank line
(outside fenced code), for the pages and for the docstrings mkdocstrings renders.
"""

import re

from markdown import Extension
from markdown.preprocessors import Preprocessor

_ITEM = re.compile(r"^\s*(?:[-*+]|\d+\.)\s+\S")
_FENCE = re.compile(r"^\s*(```|~~~)")


class _ListSpacing(Preprocessor):
    def run(self, lines):
        out, fenced = [], False
        for line in lines:
            if _FENCE.match(line):
                fenced = not fenced
            elif (
                not fenced
                and _ITEM.match(line)
                and out
                and out[-1].strip()
                and not _ITEM.match(out[-1])
                and not out[-1].startswith((" ", "\t", "|"))
            ):
                out.append("")
            out.append(line)
        return out


class ListSpacing(Extension):
    def extendMarkdown(self, md):
        md.preprocessors.register(_ListSpacing(md), "list_spacing", 25)


def on_config(config):
    config.markdown_extensions.append(ListSpacing())
    return config

"""Finds user-visible English that is not marked for translation, in templates and in scripts.

"User-visible" is defined narrowly enough to be checked and broadly enough to matter:
- templates: text between tags that holds a letter, and the text of the attributes a person reads or hears
  (aria-label, title, placeholder, alt, and the value of a button-like input), once every Jinja expression,
  statement and comment is taken out; plus string literals in Jinja expressions that read as prose (a capital
  letter then lower-case letters, e.g. `'Video'`), unless they are the message of `_()`, `gettext()` or
  `ngettext()`. `{% trans %}` blocks, <script> and <style> are skipped.
- scripts: a string literal (quoted or a template literal's text) that is assigned to textContent, innerText,
  title, placeholder or an aria-label, given as such a property to a DOM builder, or passed to alert(),
  confirm(), toast() or reportError(); and any literal that reads as a sentence (a capital letter, then words
  with spaces or a closing full stop, question or exclamation mark), wherever it stands. The message of t()
  and tn() is marked, and so are the arguments that follow it.

Names that are the same in every language (the brand) are allowed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

ALLOWED = frozenset({"Reelm"})
LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
PROSE = re.compile(r"^[A-Z][a-z']+(?:[\s,;:.!?…-]|$)")
SENTENCE = re.compile(r"^[A-Z][a-z\u2019']*[,:]?(?: \S+)+$|^[A-Z][a-z\u2019']+[.!?…]$")
READ_ATTRIBUTES = frozenset(
    {"aria-label", "title", "placeholder", "alt", "aria-placeholder", "aria-roledescription"}
)
BUTTON_TYPES = frozenset({"button", "submit", "reset"})

JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.S)
# Blocks that hold markup's own words (class names), not text.
JINJA_NOT_TEXT = re.compile(r"\{%-?\s*block\s+body_class\s*-?%\}.*?\{%-?\s*endblock\s*-?%\}", re.S)
JINJA_TRANS = re.compile(r"\{%-?\s*trans\b.*?\{%-?\s*endtrans\s*-?%\}", re.S)
JINJA_TAG = re.compile(r"\{\{.*?\}\}|\{%.*?%\}", re.S)
JINJA_STRING = re.compile(r"""(?P<q>["'])(?P<s>(?:\\.|(?!(?P=q)).)*)(?P=q)""")
# Arguments that name things rather than say them: icons, classes, test ids, formats, dict keys.
JINJA_MARKED_CALL = re.compile(r"\b(?:_|gettext|ngettext)\(\s*$")


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.text!r}"


def _line_of(source: str, offset: int) -> int:
    return source.count("\n", 0, offset) + 1


def _visible(text: str) -> bool:
    text = " ".join(text.split())
    bare = text.strip(" ·|—-:")  # the brand after a title's separator is still the brand
    return bool(text) and bool(LETTER.search(text)) and bare not in ALLOWED


class _TemplateText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []
        self.skipping: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # A command, an identifier or a key name reads the same in every language.
        if tag in {"script", "style", "code", "kbd"}:
            self.skipping.append(tag)
        values = dict(attrs)
        for name, value in attrs:
            if value is None:
                continue
            readable = name in READ_ATTRIBUTES or (
                name == "value" and tag == "input" and (values.get("type") or "") in BUTTON_TYPES
            )
            if readable and _visible(value):
                self.found.append((self.getpos()[0], " ".join(value.split())))

    def handle_endtag(self, tag: str) -> None:
        if self.skipping and self.skipping[-1] == tag:
            self.skipping.pop()

    def handle_data(self, data: str) -> None:
        if not self.skipping and _visible(data):
            self.found.append((self.getpos()[0], " ".join(data.split())))


def _blank(match: re.Match[str]) -> str:
    # Keep the line count (findings name lines) and leave a space so that words on each side stay apart.
    return " " + "\n" * match.group(0).count("\n")


def _prose_literals_in_expressions(source: str) -> list[tuple[int, str]]:
    found = []
    for tag in JINJA_TAG.finditer(source):
        expression = tag.group(0)
        if re.match(r"\{%-?\s*(?:from|import|extends|include|block|macro|call)\b", expression):
            continue
        for literal in JINJA_STRING.finditer(expression):
            text = literal.group("s")
            if JINJA_MARKED_CALL.search(expression[: literal.start()]):
                continue
            if _ngettext_argument(expression, literal.start()):
                continue
            if PROSE.match(text) and text not in ALLOWED:
                found.append((_line_of(source, tag.start() + literal.start()), text))
    return found


def _ngettext_argument(expression: str, offset: int) -> bool:
    """Whether the literal at offset is the plural of an ngettext(singular, plural, n) call."""
    before = expression[:offset]
    call = before.rfind("ngettext(")
    return call >= 0 and before.count("(", call) > before.count(")", call)


def scan_template(path: Path, source: str | None = None) -> list[Finding]:
    source = path.read_text() if source is None else source
    findings = [
        Finding(path.name, line, text)
        for line, text in _prose_literals_in_expressions(JINJA_NOT_TEXT.sub(_blank, source))
    ]
    markup = JINJA_COMMENT.sub(_blank, source)
    markup = JINJA_NOT_TEXT.sub(_blank, markup)
    markup = JINJA_TRANS.sub(_blank, markup)
    markup = JINJA_TAG.sub(_blank, markup)
    parser = _TemplateText()
    parser.feed(markup)
    parser.close()
    findings += [Finding(path.name, line, text) for line, text in parser.found]
    return sorted(findings, key=lambda f: f.line)


# --- scripts -----------------------------------------------------------------------------------------------

JS_TOKEN = re.compile(
    r"""//[^\n]*|/\*.*?\*/|(?P<q>["'])(?P<s>(?:\\.|(?!(?P=q))[^\\\n])*)(?P=q)|`(?P<t>(?:\\.|\$\{(?:[^{}]|\{[^{}]*\})*\}|[^`\\])*)`""",
    re.S,
)
SPOKEN_PROPERTY = r"(?:textContent|innerText|title|placeholder|ariaLabel|alt|label)"
# What stands before a literal that a person will read or hear.
SPOKEN_START = (
    rf"""\.{SPOKEN_PROPERTY}\s*[+]?=|\b{SPOKEN_PROPERTY}\s*:|["'](?:aria-label|title|placeholder|alt)["']\s*[:,]"""
    r"""|\b(?:alert|confirm|prompt|toast|reportError)\("""
)
# ...or a child of a DOM builder, after its properties: el("button", { ... }, "Delete").
JS_SPOKEN_BEFORE = re.compile(
    rf"(?:(?:{SPOKEN_START})\s*|\b(?:alert|confirm|prompt|toast|reportError)\([^;\n{{]*?|\}}\s*,\s*)$"
)
# The other branch of a choice whose first branch is spoken: `x.textContent = on ? "Sound on" : "Sound off"`.
JS_ALTERNATIVE_BEFORE = re.compile(r"(?:[?:]|\|\||\?\?)\s*$")
JS_SPOKEN_IN_LINE = re.compile(SPOKEN_START)
JS_OBJECT_VALUE = re.compile(r"""(?:\b[\w$]+|["'][\w-]+["'])\s*:\s*$""")
JS_SPOKEN_KEY = re.compile(
    rf"""(?:\b{SPOKEN_PROPERTY}|["'](?:aria-label|title|placeholder|alt)["'])\s*:\s*$"""
)
# One capitalised word standing alone as a value: a button's label ("Delete"), unless it is compared with or
# names something (a key, a method, a type).
JS_LABEL = re.compile(r"^[A-Z][a-z]+$")
JS_NOT_LABEL_BEFORE = re.compile(r"(?:===?|!==?|\bcase|\[|\binstanceof|\bkey\s*:|\btype\s*:)\s*$")
JS_IDENTIFIERS = frozenset(
    {"Enter", "Escape", "Tab", "Backspace", "Space", "Spacebar", "Home", "End", "Date", "Shift"}
)
# Names the browser's APIs use, which look like labels: a drag's data type, a request header.
JS_IDENTIFIERS |= {"Files", "Accept"}
JS_MARKED_BEFORE = re.compile(r"\b(?:t|tn)\(\s*(?:(?:\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*')\s*,\s*)?$")


def _template_text(body: str) -> str:
    return re.sub(r"\$\{(?:[^{}]|\{[^{}]*\})*\}", " ", body)


def scan_script(path: Path, source: str | None = None) -> list[Finding]:
    source = path.read_text() if source is None else source
    findings: list[Finding] = []
    for token in JS_TOKEN.finditer(source):
        if token.group(0).startswith(("//", "/*")):
            continue
        text = token.group("s") if token.group("q") else _template_text(token.group("t") or "")
        text = " ".join(text.split())
        if not _visible(text) or text in ALLOWED:
            continue
        before = source[max(0, token.start() - 200) : token.start()]
        if JS_MARKED_BEFORE.search(before):
            continue
        line = before[before.rfind("\n") + 1 :]
        spoken_context = bool(JS_SPOKEN_BEFORE.search(before)) or bool(
            JS_ALTERNATIVE_BEFORE.search(before) and JS_SPOKEN_IN_LINE.search(line) and "?" in line
        )
        if JS_OBJECT_VALUE.search(before) and not JS_SPOKEN_KEY.search(before):
            spoken_context = False  # an option's value: { kind: "ok" }
        after = source[token.end() : token.end() + 20]
        label = (
            token.group("q") is not None
            and JS_LABEL.match(text) is not None
            and text not in JS_IDENTIFIERS
            and not JS_NOT_LABEL_BEFORE.search(before)
            and not re.match(r"\s*:", after)
        )
        if spoken_context and token.group("q") is None and not re.search(r"[^\W\d_]{2,}", text):
            continue  # a template literal of values and punctuation only
        if (spoken_context and _is_words(text)) or SENTENCE.match(text) or label:
            findings.append(Finding(path.name, _line_of(source, token.start()), text))
    return findings


def _is_words(text: str) -> bool:
    """Prose rather than an identifier, a selector, a class, a key name or a path."""
    if re.fullmatch(r"[a-z0-9_.#:\[\]=\"'/-]*[-_.#:\[\]=/][a-z0-9_.#:\[\]=\"'/-]*", text):
        return False  # a class, selector, id or path
    words = text.split()
    if all(re.fullmatch(r"[a-z0-9_-]+", w) for w in words) and any("-" in w for w in words):
        return False  # a list of classes
    if len(words) == 1 and (text.isupper() or re.fullmatch(r"[A-Z][a-z]+[A-Z]\w*", text)):
        return False  # a method, a constant, a type name
    if re.fullmatch(r"[\w.+-]+/[\w.+-]+(?:,\s*[\w.+-]+/[\w.+-]+)*", text):
        return False  # media types

    return bool(re.search(r"[^\W\d_]{2,}", text))


def scan_tree(templates: Path, scripts: Path) -> list[Finding]:
    findings: list[Finding] = []
    for template in sorted(templates.glob("*.html")):
        findings += scan_template(template)
    for script in sorted(scripts.glob("*.js")):
        findings += scan_script(script)
    return findings

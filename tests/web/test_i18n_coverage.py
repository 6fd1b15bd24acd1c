"""No user-visible English slips past translation: the scanner (tests/web/i18n_scan.py) over every template
and script, and proof that it catches what it is meant to catch."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.web.i18n_scan import scan_script, scan_template, scan_tree

PACKAGE = Path(__file__).resolve().parents[2] / "reelm"
TEMPLATES = PACKAGE / "templates"
SCRIPTS = PACKAGE / "static" / "js"


def test_every_template_and_script_marks_its_text_for_translation() -> None:
    findings = scan_tree(TEMPLATES, SCRIPTS)
    assert not findings, "untranslated text:\n" + "\n".join(map(str, findings))


@pytest.mark.parametrize(
    ("markup", "planted"),
    [
        ("<p>Hello there</p>", "Hello there"),
        ('<button aria-label="Close the sheet">{{ icon("x") }}</button>', "Close the sheet"),
        ('<input type="search" placeholder="Search videos">', "Search videos"),
        ('<img src="/a.png" alt="A cat">', "A cat"),
        ('<input type="submit" value="Send">', "Send"),
        ('<a title="Open {{ name }}">{{ name }}</a>', "Open"),
        ("<h1>{{ _('Hi') }} and welcome</h1>", "and welcome"),
        ("<p>{{ 'Video' if x else y }}</p>", "Video"),
    ],
)
def test_the_scanner_catches_plain_text_in_templates(tmp_path: Path, markup: str, planted: str) -> None:
    found = scan_template(tmp_path / "planted.html", markup)
    assert [f.text for f in found] == [planted]


@pytest.mark.parametrize(
    "markup",
    [
        '<p>{{ _("Hello there") }}</p>',
        '<p>{{ _("Hi %(name)s", name=user.name) }}</p>',
        '<p>{{ ngettext("%(num)d video", "%(num)d videos", n) }}</p>',
        "<p>{% trans %}Hello there{% endtrans %}</p>",
        '<button aria-label="{{ _("Close") }}">{{ icon("close") }}</button>',
        "<p>Reelm</p><title>{{ page }} · Reelm</title>",
        '<input type="hidden" name="next" value="/feed"><p class="muted">{{ handle }} · 3</p>',
        "<script>const x = 'Not text';</script><code>reelm audit verify</code>",
        "{% block body_class %}page page-feed{% endblock %}",
    ],
)
def test_the_scanner_leaves_marked_text_and_markup_alone(tmp_path: Path, markup: str) -> None:
    assert scan_template(tmp_path / "clean.html", markup) == []


@pytest.mark.parametrize(
    ("source", "planted"),
    [
        ('button.textContent = "Delete";', "Delete"),
        ('node.title = "Open the menu";', "Open the menu"),
        ('el("button", { type: "button" }, "Cancel");', "Cancel"),
        ('el("a", { "aria-label": `Follow @${handle}` });', "Follow @"),
        ('toast("Link copied", { kind: "ok" });', "Link copied"),
        ('if (!window.confirm("Delete this comment?")) return;', "Delete this comment?"),
        ('reportError(error, "Couldn\u2019t follow.");', "Couldn\u2019t follow."),
        ('const message = "Something went wrong on our side.";', "Something went wrong on our side."),
        ('label.textContent = open ? t("less") : "more";', "more"),
    ],
)
def test_the_scanner_catches_plain_text_in_scripts(tmp_path: Path, source: str, planted: str) -> None:
    found = scan_script(tmp_path / "planted.js", source)
    assert [f.text for f in found] == [planted]


@pytest.mark.parametrize(
    "source",
    [
        'button.textContent = t("Delete");',
        'el("button", { type: "button", className: "btn btn-secondary" }, t("Cancel"));',
        'node.setAttribute("aria-label", t("Follow @{handle}", { handle }));',
        'label.textContent = tn("{count} video", "{count} videos", n);',
        'toast(t("Link copied"), { kind: "ok" });',
        'if (event.key === "Escape") close();',
        'await api("POST", `/api/v1/videos/${id}/like`);',
        'const box = document.querySelector(".feed-error-detail");',
        'headers["Content-Type"] = "application/json";',
        "// A comment may say Anything It Likes.",
    ],
)
def test_the_scanner_leaves_marked_text_and_code_alone(tmp_path: Path, source: str) -> None:
    assert scan_script(tmp_path / "clean.js", source) == []

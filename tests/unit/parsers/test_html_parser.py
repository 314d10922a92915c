"""HTML pages become markdown: structure kept, chrome and code dropped."""

from __future__ import annotations

from adapters.parsers.html import html_to_markdown, parse_html
from domain.model import ParsedPage

PAGE = """<!doctype html>
<html><head><title>Ignored when there is an h1</title>
<style>p { color: red }</style><script>if (a < b) { alert("hi") }</script></head>
<body>
<nav><a href="/">Home</a> | <a href="/plans">Plans</a></nav>
<h1>Sunrise   Health
Plan</h1>
<p>Members pay a <b>$20</b> copay&nbsp;per visit &amp; nothing
for preventive care.<br>Call us first.</p>
<h3>What is covered</h3>
<ul><li>Doctor visits<ul><li>Primary care</li><li>Specialists</li></ul></li>
<li>Hospital stays</li></ul>
<ol><li>Call Member Services<li>Bring your card</ol>
<table>
<tr><th>Service</th><th>You pay</th></tr>
<tr><td>Emergency | ER</td><td>$150<br>per visit</td></tr>
<tr><td>Urgent care</td></tr>
</table>
<form><p>Plan ID: 4417</p><button>Send</button><select><option>English</option></select></form>
<footer><p>&copy; 2025 Sunrise Health</p></footer>
</body></html>"""


def test_an_html_page_becomes_markdown_with_headings_lists_and_tables() -> None:
    assert html_to_markdown(PAGE) == "\n".join([
        "# Sunrise Health Plan",
        "",
        "Members pay a $20 copay per visit & nothing for preventive care.",
        "Call us first.",
        "",
        "### What is covered",
        "",
        "- Doctor visits",
        "  - Primary care",
        "  - Specialists",
        "- Hospital stays",
        "",
        "1. Call Member Services",
        "2. Bring your card",
        "",
        "| Service | You pay |",
        "| --- | --- |",
        "| Emergency \\| ER | $150 per visit |",
        "| Urgent care |  |",
        "",
        "Plan ID: 4417",
        "",
        "© 2025 Sunrise Health",
    ])


def test_scripts_styles_and_navigation_never_reach_the_text() -> None:
    markdown = html_to_markdown(PAGE)
    for noise in ("alert", "color: red", "Home", "Plans", "Send", "English"):
        assert noise not in markdown


def test_the_title_is_the_heading_when_the_page_has_no_h1() -> None:
    html = "<html><head><title>Explanation of Benefits</title></head><body><p>Claim 7</p>"
    assert html_to_markdown(html) == "# Explanation of Benefits\n\nClaim 7"


def test_an_svg_title_is_not_mistaken_for_the_page_title() -> None:
    html = "<svg><title>logo</title></svg><p>Claim 7</p>"
    assert html_to_markdown(html) == "Claim 7"


def test_a_page_whose_head_is_never_closed_keeps_its_body() -> None:
    html = "<html><head><meta charset=utf-8><title>EOB</title><body><p>Claim 7 paid"
    assert html_to_markdown(html) == "# EOB\n\nClaim 7 paid"


def test_preformatted_text_keeps_its_spacing_in_a_fenced_block() -> None:
    html = "<p>Codes:</p><pre>  99213   office visit\n  99214   longer visit</pre>"
    assert html_to_markdown(html) == (
        "Codes:\n\n```\n  99213   office visit\n  99214   longer visit\n```"
    )


def test_a_pre_never_closed_keeps_the_rest_of_the_page() -> None:
    # a browser shows the rest as preformatted text; it was dropped
    html = "<h1>Plan</h1><p>Intro</p><pre>Deductible 500\n<p>Copay 20 dollars</p>"
    assert html_to_markdown(html) == (
        "# Plan\n\nIntro\n\n```\nDeductible 500\nCopay 20 dollars\n```")
    assert parse_html(b"<pre>Deductible 500 per year, copay 20") != []


def test_quotes_rules_and_image_descriptions_are_kept() -> None:
    html = '<blockquote><p>Coverage starts Jan 1.</p></blockquote><hr><img alt="Member card">'
    assert html_to_markdown(html) == "> Coverage starts Jan 1.\n\n---\n\nMember card"


def test_a_table_nested_in_a_cell_becomes_text_of_that_cell() -> None:
    html = ("<table><tr><th>Plan</th><th>Costs</th></tr><tr><td>Gold</td>"
            "<td><table><tr><td>Deductible</td><td>$0</td></tr><tr><td>Copay</td><td>$20</td>"
            "</tr></table></td></tr></table>")
    assert html_to_markdown(html) == (
        "| Plan | Costs |\n| --- | --- |\n| Gold | Deductible $0; Copay $20 |"
    )


def test_html_bytes_in_a_declared_legacy_charset_are_decoded_by_it() -> None:
    html = '<meta charset="windows-1252"><p>Café — “covered”</p>'.encode("cp1252")
    assert parse_html(html) == [ParsedPage(number=1, markdown="Café — “covered”")]


def test_a_page_with_only_scripts_has_no_pages() -> None:
    assert parse_html(b"<html><script>track()</script><style>a{}</style></html>") == []

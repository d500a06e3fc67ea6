"""The console's bodies made readable (app/stand_in/console/pretty.py)."""
import pytest

from app.stand_in.console import pretty

JSON_INDENTED = '{\n  "a": [\n    1,\n    2\n  ],\n  "b": {\n    "c": null\n  }\n}'
XML_INDENTED = "<response>\n  <result>\n    <a>1</a>\n    <b/>\n  </result>\n</response>"


@pytest.mark.parametrize(
    "text, content_type, shown",
    [
        ('{"a":[1,2],"b":{"c":null}}', "application/json;charset=UTF-8", JSON_INDENTED),
        ('{"a":[1,2],"b":{"c":null}}', "APPLICATION/JSON", JSON_INDENTED),
        ('  {"a":[1,2],"b":{"c":null}}', "", JSON_INDENTED),
        ("[1]", None, "[\n  1\n]"),
        ("<response><result><a>1</a><b/></result></response>", "application/xml", XML_INDENTED),
        ("<response>\n <result>  <a>1</a>\n<b/> </result>\n</response>", "text/XML", XML_INDENTED),
        ("  <response><result><a>1</a><b/></result></response>", "", XML_INDENTED),
        ("<a> text kept </a>", "application/xml", "<a> text kept </a>"),
        # Text beside child elements is kept: only whitespace between them goes.
        ("<a>text<b/></a>", "application/xml", "<a>text<b/></a>"),
        # Comments and processing instructions are shown too, in and around the root.
        ("<!--c--><a><?pi x?><b/><!-- d --></a>", "text/xml", "<!--c-->\n<a>\n  <?pi x?>\n  <b/>\n  <!-- d -->\n</a>"),
        ('{"cut": "in the midd', "application/json", '{"cut": "in the midd'),
        ("<cut><in", "application/xml", "<cut><in"),
        ("<a/>", "application/json", "<a/>"),
        ('{"a":1}', "text/plain", '{"a":1}'),
        ("<a><b/></a>", "text/plain", "<a><b/></a>"),
        ("plain", "", "plain"),
        ("", "application/json", ""),
        ('<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>', "application/xml", '<!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>'),
    ],
)
def test_a_body_is_indented_when_it_is_what_it_says(text, content_type, shown):
    assert pretty.body(text, content_type) == shown


def test_a_body_without_a_content_type_is_read_by_its_first_character():
    assert pretty.body("[1]") == "[\n  1\n]"


def test_json_values_are_indented_by_two():
    assert pretty.json_text({"a": {"b": 1}}) == '{\n  "a": {\n    "b": 1\n  }\n}'

"""Generated requests and documents, in a bounded, seeded number so that CI
is deterministic and quick.

schemathesis sends requests made from the OpenAPI document (valid ones and,
in negative mode, ones that break it) through WSGI to the app: none may get
a 5xx, and every answer must be a documented status, content type and shape.
hypothesis feeds the JSON and XML readers arbitrary bytes, and writes maps
as XML to read them back.
"""
import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app import serialization
from app.serialization import JSON, XML, UnreadableBody
from conftest import ADMIN_PASSWORD, basic

# Per operation and mode (valid requests, and ones that break the document):
# the Interaction API's four, and fewer for the Table API's eighteen (six
# routes under three prefixes, which share their code) and the Attachment,
# Batch and Aggregate APIs' sixteen (under two).
API_EXAMPLES = 60
TABLE_EXAMPLES = 20
READER_EXAMPLES = 500

SEEDED = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


# Each operation's strategy driven by hypothesis in a plain test: the
# pytest integration (schemathesis.pytest.from_fixture) reads
# request.node._nodeid, which pytest 9 no longer has.
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_the_api_answers_every_generated_request_as_documented(app, mode):
    schema = schemathesis.openapi.from_wsgi("/api/now/doc/openapi.json", app)
    credentials = basic("admin", ADMIN_PASSWORD)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {operation.label for operation in operations} >= {
        f"POST {prefix}{path}" for prefix in ("/api/now", "/api/now/v1") for path in ("/interaction", "/interaction/{interaction_id}/close")
    } | {
        f"{method} {prefix}{path}"
        for prefix in ("/api/now/table", "/api/now/v1/table", "/api/now/v2/table")
        for method, path in [
            ("GET", "/{table_name}"),
            ("POST", "/{table_name}"),
            ("GET", "/{table_name}/{sys_id}"),
            ("PUT", "/{table_name}/{sys_id}"),
            ("PATCH", "/{table_name}/{sys_id}"),
            ("DELETE", "/{table_name}/{sys_id}"),
        ]
    }

    statuses = []
    examples = 0
    for operation in operations:
        count = API_EXAMPLES if "/interaction" in operation.path else TABLE_EXAMPLES
        examples += count

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(SEEDED, max_examples=count)
        def answers_as_documented(case):
            statuses.append(case.call_and_validate(headers=credentials, checks=CHECKS).status_code)

        answers_as_documented()
    # Generation really ran, and not only into the first check.
    assert len(statuses) >= examples // 2
    assert len(set(statuses)) > 1


# Fragments that matter to the XML parser, so that generated documents get
# past the first byte more often than random bytes do.
XML_FRAGMENTS = [
    b"<request>", b"</request>", b"<entry>", b"</entry>", b"<channel>", b"</channel>", b"<context>",
    b"</context>", b"<a>", b"</a>", b"<a/>", b"text", b" ", b"&amp;", b"&x;", b"&#0;", b"&#xD800;",
    b"<!DOCTYPE request [<!ENTITY x 'y'>]>", b'<!DOCTYPE request SYSTEM "file:///etc/passwd">',
    b"<![CDATA[", b"]]>", b"<!--", b"-->", b"<?pi?>", b'<?xml version="1.0" encoding="UTF-16"?>',
    b'<?xml version="1.0"?>', b"\xff", b"\xed\xa0\x80", b"\x00", b'<x:a xmlns:x="urn:x">', b"</x:a>",
]
JSON_FRAGMENTS = [
    b"{", b"}", b"[", b"]", b'"channel"', b":", b",", b'"c"', b"1e400", b"-0", b"123456789012345678901234567890",
    b"true", b"null", b'"\\ud800"', b'"\\u0000"', b"\xff", b"\xef\xbb\xbf", b" ",
]


def documents(fragments):
    return st.one_of(st.binary(max_size=512), st.lists(st.sampled_from(fragments), max_size=40).map(b"".join))


# Charsets by their codec names, as negotiation hands them on.
@given(body=documents(JSON_FRAGMENTS), charset=st.sampled_from([None, "utf-16", "iso8859-1", "utf-7"]))
@settings(SEEDED, max_examples=READER_EXAMPLES)
def test_the_json_reader_gives_a_dict_or_unreadable_body(body, charset):
    try:
        data = serialization.read(body, JSON, charset)
    except UnreadableBody:
        return
    assert isinstance(data, dict)


@given(body=documents(XML_FRAGMENTS), charset=st.sampled_from([None, "utf-16", "iso8859-1"]))
@settings(SEEDED, max_examples=READER_EXAMPLES)
def test_the_xml_reader_gives_a_dict_or_unreadable_body(body, charset):
    try:
        data = serialization.read(body, XML, charset)
    except UnreadableBody:
        return
    assert isinstance(data, dict)


# What the XML writer can say so that it reads back the same, which limits
# what is generated: keys are XML names (not starting with "xml", no
# colon); text holds only characters XML allows, less "\r", which XML
# reads as "\n"; there are no booleans or None, written as "true"/"false"
# and as an empty element (read back as text); maps are not empty (an
# empty one is an empty element too); lists have two items or more (one
# item is one element, read back as that item) and hold no lists.
NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,8}", fullmatch=True).filter(lambda name: not name.lower().startswith("xml"))
TEXT = st.text(
    st.characters(
        blacklist_categories=("Cs",),
        blacklist_characters="".join(map(chr, [*range(0, 9), 11, 12, 13, *range(14, 32), 0xFFFE, 0xFFFF])),
    ),
    max_size=20,
)
MAPS = st.recursive(
    st.dictionaries(NAMES, TEXT, min_size=1, max_size=4),
    lambda children: st.dictionaries(
        NAMES,
        st.one_of(TEXT, children, st.lists(st.one_of(TEXT, children), min_size=2, max_size=3)),
        min_size=1,
        max_size=4,
    ),
    max_leaves=12,
)


@given(fields=MAPS.filter(lambda fields: "entry" not in fields))
@settings(SEEDED, max_examples=READER_EXAMPLES)
def test_a_map_written_as_xml_reads_back_the_same(fields):
    written = serialization.write_xml(fields)
    # The writer answers in <response>, the reader reads a <request>.
    request = re.sub(rb"^(<\?xml[^>]*>\n)<response>(.*)</response>$", rb"\1<request>\2</request>", written, flags=re.S)
    request = re.sub(rb"^(<\?xml[^>]*>\n)<response/>$", rb"\1<request/>", request)
    assert serialization.read(request, XML) == fields

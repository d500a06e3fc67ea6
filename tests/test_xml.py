"""XML both ways: the request forms (§4.1), the envelopes (§3), and a
parser that cannot be turned against the host."""
import orjson
import pytest
from lxml import etree
from conftest import CHANNEL, QUEUE

from app.models import InteractionJsonBlob

XML = {"Content-Type": "application/xml", "Accept": "application/xml"}
DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def post_xml(api, body, **headers):
    return api.create(data=body.encode() if isinstance(body, str) else body, headers={**XML, **headers})


def test_the_entry_form_creates_and_answers_in_xml(api):
    response = post_xml(
        api, f"<request><entry><channel>{CHANNEL}</channel><queue>{QUEUE}</queue></entry></request>"
    )
    assert response.status_code == 201
    assert response.headers["Content-Type"] == "application/xml;charset=UTF-8"
    assert response.data.startswith(
        DECLARATION + b"<response><result><channel>" + CHANNEL.encode() + b"</channel>"
        b"<context><present>true</present></context><queue>" + QUEUE.encode() + b"</queue>"
        b"<state>queued</state><number>IMS0000001</number>"
    )
    assert response.data.endswith(b"<assigned_to/><closed_by/><opened_for/></result></response>")


def test_fields_directly_under_request_are_accepted(api):
    response = post_xml(api, f"<request><channel>{CHANNEL}</channel></request>", Accept="application/json")
    assert response.status_code == 201
    assert response.json["result"]["channel"] == CHANNEL


def test_a_declaration_comments_and_whitespace_are_fine(api):
    body = f"""<?xml version="1.0" encoding="UTF-8"?>
    <!-- a legacy client -->
    <request>
      <entry>
        <channel> {CHANNEL} </channel>
      </entry>
    </request>"""
    response = post_xml(api, body, Accept="application/json")
    assert response.status_code == 201
    assert response.json["result"]["channel"] == CHANNEL


def test_map_fields_become_maps_and_repeated_children_lists(app, api):
    body = (
        f"<request><entry><channel>{CHANNEL}</channel>"
        "<context><customer><id>42</id><name>Ada</name></customer><tag>a</tag><tag>b</tag><empty/></context>"
        "</entry></request>"
    )
    result = post_xml(api, body, Accept="application/json").json["result"]
    with app.app_context():
        value = InteractionJsonBlob.get_by_id(result["contextDocument"]).value
    assert orjson.loads(value) == {"customer": {"id": "42", "name": "Ada"}, "tag": ["a", "b"], "empty": ""}


def test_a_child_repeated_three_times_is_a_list_of_three(app, api):
    body = (
        f"<request><entry><channel>{CHANNEL}</channel>"
        "<context><tag>a</tag><tag>b</tag><other>x</other><tag>c</tag><tag>d</tag></context></entry></request>"
    )
    result = post_xml(api, body, Accept="application/json").json["result"]
    with app.app_context():
        value = InteractionJsonBlob.get_by_id(result["contextDocument"]).value
    assert orjson.loads(value) == {"tag": ["a", "b", "c", "d"], "other": "x"}


def test_a_whole_result_in_xml_with_a_false_and_empty_fields(api):
    body = f"<request><channel>{CHANNEL}</channel><context_table>incident</context_table><context_id>{'a' * 32}</context_id></request>"
    response = post_xml(api, body)
    assert response.status_code == 201
    generated = etree.fromstring(response.data).find("result")
    assert response.data == (
        DECLARATION + b"<response><result>"
        b"<channel>" + CHANNEL.encode() + b"</channel><context><present>false</present></context><queue/>"
        b"<state>new</state><number>IMS0000001</number><contextDocument>" + b"a" * 32 + b"</contextDocument>"
        b"<contextTable>incident</contextTable><channelMetadataDocument>"
        + generated.findtext("channelMetadataDocument").encode()
        + b"</channelMetadataDocument><channelMetadataTable>live_group_profile</channelMetadataTable>"
        b"<channel_metadata><present>true</present></channel_metadata><sys_id>"
        + generated.findtext("sys_id").encode()
        + b"</sys_id><assigned_to/><closed_by/><opened_for/></result></response>"
    )


def test_a_map_may_be_json_text_in_xml(app, api):
    body = f'<request><channel>{CHANNEL}</channel><context>{{"a": [1, 2]}}</context></request>'
    result = post_xml(api, body, Accept="application/json").json["result"]
    with app.app_context():
        assert InteractionJsonBlob.get_by_id(result["contextDocument"]).value == '{"a":[1,2]}'


def test_an_update_and_a_close_in_xml(api):
    created = api.created()
    updated = post_xml(api, f"<request><entry><sys_id>{created['sys_id']}</sys_id><queue>{QUEUE}</queue></entry></request>")
    assert updated.status_code == 201
    assert b"<state>queued</state>" in updated.data
    closed = api.close(created["sys_id"], headers=XML)
    assert closed.status_code == 200
    assert b"<state>closed_complete</state>" in closed.data


def xml_error(message, detail):
    detail_xml = b"<detail/>" if detail is None else b"<detail>" + detail.encode() + b"</detail>"
    return (
        DECLARATION + b"<response><error><message>" + message.encode() + b"</message>" + detail_xml
        + b"</error><status>failure</status></response>"
    )


def test_a_missing_channel_is_a_400_in_xml(api):
    response = post_xml(api, "<request><entry><queue>q</queue></entry></request>")
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/xml;charset=UTF-8"
    assert response.data == xml_error("channel: Missing data for required field.", None)


def test_a_nested_channel_is_not_a_string(api):
    response = post_xml(api, "<request><channel><a>1</a></channel></request>")
    assert response.status_code == 400
    assert response.data == xml_error("channel: Not a valid string.", None)


HOSTILE = {
    "malformed": ("<request><channel>x</request>", "Invalid XML: Opening and ending tag mismatch"),
    "truncated": ("<request><entry><chan", "Invalid XML: "),
    "not xml": ("channel=x", "Invalid XML: Start tag expected"),
    "wrong root": (f"<incident><channel>{CHANNEL}</channel></incident>", "Invalid XML: the root element must be <request>, not <incident>"),
    "doctype": (
        f'<!DOCTYPE request><request><channel>{CHANNEL}</channel></request>',
        "Invalid XML: a DOCTYPE is not allowed",
    ),
    "internal entity": (
        '<!DOCTYPE request [<!ENTITY c "28a59893873103002ae97e2526cb0b5d">]>'
        "<request><channel>&c;</channel></request>",
        "Invalid XML: a DOCTYPE is not allowed",
    ),
    "external entity": (
        '<!DOCTYPE request [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><request><channel>&xxe;</channel></request>',
        "Invalid XML: a DOCTYPE is not allowed",
    ),
    "external dtd": (
        '<!DOCTYPE request SYSTEM "http://127.0.0.1:9/evil.dtd"><request><channel>x</channel></request>',
        "Invalid XML: a DOCTYPE is not allowed",
    ),
    "local dtd": (
        '<!DOCTYPE request SYSTEM "file:///etc/passwd"><request><channel>x</channel></request>',
        "Invalid XML: a DOCTYPE is not allowed",
    ),
    "parameter entity": (
        '<!DOCTYPE request [<!ENTITY % p SYSTEM "file:///etc/hostname"> %p;]><request/>',
        "Invalid XML: a DOCTYPE is not allowed",
    ),
    "billion laughs": (
        '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        '<!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">'
        '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
        "<request><channel>&lol3;</channel></request>",
        "Invalid XML: a DOCTYPE is not allowed",
    ),
    "two entries": (
        "<request><entry><channel>a</channel></entry><entry><channel>b</channel></entry></request>",
        "Invalid XML: a request holds one <entry>, not several",
    ),
    "undefined entity": ("<request><channel>&nope;</channel></request>", "Invalid XML: Entity 'nope' not defined"),
}


@pytest.mark.parametrize("body, detail", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_or_broken_xml_is_a_400(api, app, body, detail):
    response = post_xml(api, body, Accept="application/json")
    assert response.status_code == 400
    assert response.json["status"] == "failure"
    assert response.json["error"]["message"] == "Exception while reading request"
    assert response.json["error"]["detail"].startswith(detail)
    assert "root:" not in response.get_data(as_text=True)


def test_an_xml_answer_is_utf_8_not_character_references(api):
    response = post_xml(api, "<request><channel>café ☕</channel></request>")
    assert response.status_code == 201
    assert "<channel>café ☕</channel>".encode() in response.data

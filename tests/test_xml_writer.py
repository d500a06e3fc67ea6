"""The text XML writer answers exactly as the lxml writer it stands in for:
same bytes, or the same refusal."""
import pytest

from app.serialization import write_xml, write_xml_with_lxml

ENVELOPES = [
    {
        "result": {
            "channel": "28a59893873103002ae97e2526cb0b5d",
            "context": {"present": True},
            "queue": "",
            "closed_by": None,
            "count": 5,
            "items": [1, {"a": "b"}, None, ""],
            "empty": {},
            "unicode": "é€😀",
            "special": "a&b<c>d\re\"f'g\th\nk ]]>",
            "flag": False,
        }
    },
    {"error": {"message": "Method not Supported", "detail": None}, "status": "failure"},
    {"error": {"message": "a control character \x01", "detail": None}},
    {"not a name": 1},
    {"x": ["\ufffe"]},
]


def _written(writer, envelope):
    try:
        return writer(envelope)
    except ValueError as error:
        return f"refused: {error}"


@pytest.mark.parametrize("envelope", ENVELOPES)
def test_the_text_writer_writes_what_lxml_writes(envelope):
    assert _written(write_xml, envelope) == _written(write_xml_with_lxml, envelope)

"""The Attachment API (MORE_APIS.md §1) over HTTP, JSON and XML, both
databases: every route, parameter and error, hostile multipart bodies,
limits, and attachments going with their records, by reset and in snapshots."""
import hashlib
import io
import json

import pytest
from conftest import failure
from soap_envelopes import SOAP_CONTENT_TYPE, envelope, post
from test_stand_in_journal import raw_post
from lxml import etree

from app.records import attachments as stored
from app.db import journal_database
from app.models import StandInRequest, SysAttachment, SysAttachmentDoc

TABLE = "/api/now/table/interaction"
FILE = "/api/now/attachment/file"
UPLOAD = "/api/now/attachment/upload"
BASE = "http://localhost"
NO_RECORD = failure("No Record found", "Record doesn't exist or ACL restricts the record retrieval")
INVALID_TARGET = failure("Invalid table or record")


@pytest.fixture
def record(client, admin_auth):
    return client.post(TABLE, json={}, headers=admin_auth).json["result"]["sys_id"]


def upload(client, headers, record, data=b"hello", file_name="hello.txt", content_type="text/plain", path=FILE, **extra):
    query = {"table_name": "interaction", "table_sys_id": record, "file_name": file_name, **extra}
    return client.post(path, query_string=query, data=data, headers={**headers, "Content-Type": content_type})


def uploaded(client, headers, record, data=b"hello", **kwargs):
    response = upload(client, headers, record, data, **kwargs)
    assert response.status_code == 201, response.data
    return response.json["result"]


def expected(sys_id, record, data, file_name="hello.txt", content_type="text/plain", created=None):
    created = created or {}
    return {
        "sys_id": sys_id,
        "file_name": file_name,
        "content_type": content_type,
        "size_bytes": str(len(data)),
        "table_name": "interaction",
        "table_sys_id": record,
        "hash": hashlib.sha256(data).hexdigest(),
        "sys_created_on": created.get("sys_created_on"),
        "sys_created_by": "admin",
        "sys_updated_on": created.get("sys_updated_on"),
        "sys_updated_by": "admin",
        "sys_mod_count": "0",
        "size_compressed": str(len(data)),
        "compressed": "false",
        "download_link": f"{BASE}/api/now/attachment/{sys_id}/file",
        "image_width": "",
        "image_height": "",
        "average_image_color": "",
        "sys_tags": "",
    }


def count(app, model=SysAttachment):
    with app.app_context():
        return model.select().count()


def test_a_raw_upload_is_201_with_its_metadata_and_location(client, admin_auth, record):
    response = upload(client, admin_auth, record, b"hello")
    assert response.status_code == 201
    result = response.json["result"]
    assert result == {**expected(result["sys_id"], record, b"hello", created=result), "created_by_name": "admin", "updated_by_name": "admin"}
    assert len(result["sys_created_on"]) == 19
    assert response.headers["Location"] == f"{BASE}/api/now/attachment/{result['sys_id']}/file"
    versioned = upload(client, admin_auth, record, path="/api/now/v1/attachment/file")
    assert versioned.headers["Location"] == f"{BASE}/api/now/v1/attachment/{versioned.json['result']['sys_id']}/file"


def test_the_metadata_and_the_file_read_back(client, admin_auth, record):
    data = bytes(range(256)) * 10
    created = uploaded(client, admin_auth, record, data, file_name="blob é.bin", content_type="application/x-thing")
    sys_id = created["sys_id"]
    metadata = expected(sys_id, record, data, "blob é.bin", "application/x-thing", created)
    for prefix in ("/api/now", "/api/now/v1"):
        assert client.get(f"{prefix}/attachment/{sys_id}", headers=admin_auth).json == {"result": metadata}
        response = client.get(f"{prefix}/attachment/{sys_id}/file", headers=admin_auth)
        assert response.status_code == 200
        assert response.data == data
        assert response.headers["Content-Type"] == "application/x-thing"
        assert response.headers["Content-Length"] == str(len(data))
        # Compact JSON, the file name's é escaped: ASCII, as a header must be.
        assert response.headers["X-Attachment-Metadata"] == json.dumps(metadata, separators=(",", ":"))
        assert "blob \\u00e9.bin" in response.headers["X-Attachment-Metadata"]


def test_a_file_of_several_chunks_is_stored_in_chunks_and_read_whole(app, client, admin_auth, record, monkeypatch):
    monkeypatch.setattr(stored, "CHUNK_BYTES", 1000)
    data = bytes(range(256)) * 20
    sys_id = uploaded(client, admin_auth, record, data)["sys_id"]
    assert count(app, SysAttachmentDoc) == 6
    assert client.get(f"/api/now/attachment/{sys_id}/file", headers=admin_auth).data == data


def test_an_empty_file(client, admin_auth, record):
    created = uploaded(client, admin_auth, record, b"")
    assert created["size_bytes"] == "0"
    response = client.get(f"/api/now/attachment/{created['sys_id']}/file", headers=admin_auth)
    assert (response.status_code, response.data) == (200, b"")


def test_metadata_in_xml(client, admin_auth, record):
    response = client.post(
        FILE, query_string={"table_name": "interaction", "table_sys_id": record, "file_name": "a<b>.txt"}, data=b"x",
        headers={**admin_auth, "Content-Type": "text/plain", "Accept": "application/xml"},
    )
    assert response.status_code == 201
    root = etree.fromstring(response.data)
    assert (root.findtext("result/file_name"), root.findtext("result/size_bytes"), root.findtext("result/created_by_name")) == ("a<b>.txt", "1", "admin")
    sys_id = root.findtext("result/sys_id")
    listed = etree.fromstring(client.get("/api/now/attachment", headers={**admin_auth, "Accept": "application/xml"}).data)
    assert [r.findtext("sys_id") for r in listed.findall("result")] == [sys_id]


def test_list_with_an_encoded_query_and_paging_headers(client, admin_auth, record):
    other = client.post(TABLE, json={}, headers=admin_auth).json["result"]["sys_id"]
    made = [uploaded(client, admin_auth, record, b"x" * n, file_name=f"f{n}.txt") for n in range(1, 6)]
    uploaded(client, admin_auth, other, b"y", file_name="other.txt")

    response = client.get(
        "/api/now/attachment",
        query_string={"sysparm_query": f"table_name=interaction^table_sys_id={record}^ORDERBYDESCsize_bytes", "sysparm_limit": "2", "sysparm_offset": "2"},
        headers=admin_auth,
    )
    assert response.status_code == 200
    assert [r["file_name"] for r in response.json["result"]] == ["f3.txt", "f2.txt"]
    assert response.json["result"][0] == expected(made[2]["sys_id"], record, b"xxx", "f3.txt", created=made[2])
    assert response.headers["X-Total-Count"] == "5"
    links = response.headers["Link"].split(",")
    assert [link.rpartition(";")[2] for link in links] == ['rel="first"', 'rel="prev"', 'rel="next"', 'rel="last"']
    assert "sysparm_offset=4" in links[2]
    everything = client.get("/api/now/attachment", headers=admin_auth)
    assert (everything.headers["X-Total-Count"], len(everything.json["result"])) == ("6", 6)
    assert client.get("/api/now/attachment?file_name=other.txt", headers=admin_auth).json["result"][0]["table_sys_id"] == other
    assert client.get("/api/now/attachment?sysparm_query=size_bytes>4^nosuch=1", headers=admin_auth).headers["X-Total-Count"] == "1"
    none = client.get("/api/now/attachment?sysparm_query=file_name=nothing", headers=admin_auth)
    assert (none.json, none.headers["X-Total-Count"], none.headers.get("Link")) == ({"result": []}, "0", None)
    bad = client.get("/api/now/attachment?sysparm_query=size_bytes>many", headers=admin_auth)
    assert bad.status_code == 400
    assert client.get("/api/now/attachment?sysparm_limit=-1", headers=admin_auth).status_code == 400


def test_delete_is_204_then_404(app, client, admin_auth, record):
    sys_id = uploaded(client, admin_auth, record)["sys_id"]
    response = client.delete(f"/api/now/attachment/{sys_id}", headers=admin_auth)
    assert (response.status_code, response.data) == (204, b"")
    assert count(app) == count(app, SysAttachmentDoc) == 0
    for method, path in (("DELETE", ""), ("GET", ""), ("GET", "/file")):
        response = client.open(f"/api/now/attachment/{sys_id}{path}", method=method, headers=admin_auth)
        assert (response.status_code, response.json) == (404, NO_RECORD)
    assert client.get(f"/api/now/attachment/{'x' * 33}", headers=admin_auth).status_code == 404
    assert client.get("/api/now/attachment/%00/file", headers=admin_auth).status_code == 404


@pytest.mark.parametrize(
    "query, message",
    [
        ({"table_sys_id": "s", "file_name": "f"}, "Missing parameter: table_name"),
        ({"table_name": "interaction", "file_name": "f"}, "Missing parameter: table_sys_id"),
        ({"table_name": "interaction", "table_sys_id": "RECORD"}, "Missing parameter: file_name"),
        ({"table_name": "interaction", "table_sys_id": "RECORD", "file_name": ""}, "Missing parameter: file_name"),
        ({"table_name": "nothing", "table_sys_id": "RECORD", "file_name": "f"}, "Invalid table or record"),
        ({"table_name": "interaction", "table_sys_id": "0" * 32, "file_name": "f"}, "Invalid table or record"),
        ({"table_name": "interaction", "table_sys_id": "0" * 99, "file_name": "f"}, "Invalid table or record"),
        ({"table_name": "interaction", "table_sys_id": "\x00", "file_name": "f"}, "Invalid table or record"),
    ],
)
def test_a_missing_parameter_or_target_is_a_400_and_nothing_stored(app, client, admin_auth, record, query, message):
    query = {name: value.replace("RECORD", record) for name, value in query.items()}
    response = client.post(FILE, query_string=query, data=b"x", headers={**admin_auth, "Content-Type": "text/plain"})
    assert (response.status_code, response.json["error"]["message"]) == (400, message)
    assert count(app) == 0


@pytest.mark.parametrize(
    "file_name, content_type, name",
    [
        ("x" * 256, "text/plain", "file_name"),
        ("a\x00b", "text/plain", "file_name"),
        ("f", "text/plain; name=\u00e9", "content_type"),
        ("f", "t" * 256, "content_type"),
    ],
)
def test_names_and_types_the_database_cannot_keep_are_400s(app, client, admin_auth, record, file_name, content_type, name):
    response = upload(client, admin_auth, record, b"x", file_name=file_name, content_type=content_type)
    assert (response.status_code, response.json) == (400, failure(f"Invalid {name}", f"{name} must be at most 255 characters, without control characters"))
    assert count(app) == 0


def test_a_name_and_a_type_of_255_characters_are_kept(client, admin_auth, record):
    created = uploaded(client, admin_auth, record, b"x", file_name="n" * 255, content_type="t" * 255)
    assert (created["file_name"], created["content_type"]) == ("n" * 255, "t" * 255)


def test_a_raw_upload_without_a_content_type_is_a_400(app, client, admin_auth, record):
    response = client.post(FILE, query_string={"table_name": "interaction", "table_sys_id": record, "file_name": "f"}, data=b"x", headers=admin_auth)
    assert response.status_code == 400
    assert response.json == failure("Missing header: Content-Type", "The Content-Type of the file is required")
    assert count(app) == 0


def test_attachments_hang_on_any_table_served(client, admin_auth):
    user = client.get("/api/now/table/sys_user?user_name=admin", headers=admin_auth).json["result"][0]["sys_id"]
    response = client.post(FILE, query_string={"table_name": "sys_user", "table_sys_id": user, "file_name": "photo.png"}, data=b"\x89PNG", headers={**admin_auth, "Content-Type": "image/png"})
    assert (response.status_code, response.json["result"]["table_name"]) == (201, "sys_user")


@pytest.fixture
def small(make_app):
    return make_app(ATTACHMENT_MAX_BYTES=1000)


def test_a_file_over_the_limit_is_a_413_and_nothing_is_stored(small, admin_auth):
    client = small.test_client()
    record = client.post(TABLE, json={}, headers=admin_auth).json["result"]["sys_id"]
    assert upload(client, admin_auth, record, b"x" * 1000).status_code == 201
    over = upload(client, admin_auth, record, b"x" * 1001)
    assert over.status_code == 413
    assert over.json == failure("Exception while reading request", "The attachment is larger than 1000 bytes, the largest this service takes")
    path = f"{FILE}?table_name=interaction&table_sys_id={record}&file_name=f"
    chunked = raw_post(client, path, b"x" * 1001, {**admin_auth, "Content-Type": "text/plain"})
    assert (chunked.status_code, chunked.json) == (413, over.json)
    assert raw_post(client, path, b"x" * 1000, {**admin_auth, "Content-Type": "text/plain"}).status_code == 201
    multipart = client.post(UPLOAD, data={"table_name": "interaction", "table_sys_id": record, "file": (io.BytesIO(b"x" * 1001), "f.bin")}, headers=admin_auth)
    assert multipart.status_code == 413
    assert count(small) == 2
    assert count(small, SysAttachmentDoc) == 2


TOO_LARGE = failure("Exception while reading request", "The attachment is larger than 1000 bytes, the largest this service takes")


def test_a_multipart_file_of_the_limit_is_taken_and_one_byte_more_is_a_413(small, admin_auth):
    client = small.test_client()
    record = client.post(TABLE, json={}, headers=admin_auth).json["result"]["sys_id"]
    data = bytes(range(250)) * 4
    at = client.post(UPLOAD, data={"table_name": "interaction", "table_sys_id": record, "file": (io.BytesIO(data), "f.bin")}, headers=admin_auth)
    assert (at.status_code, at.json["result"]["size_bytes"]) == (201, "1000")
    assert client.get(f"/api/now/attachment/{at.json['result']['sys_id']}/file", headers=admin_auth).data == data
    over = client.post(UPLOAD, data={"table_name": "interaction", "table_sys_id": record, "file": (io.BytesIO(data + b"x"), "f.bin")}, headers=admin_auth)
    assert (over.status_code, over.json) == (413, TOO_LARGE)
    # A body over the limit that the parser gives up on (too many parts): a 413 too.
    parts = b"".join(part(f"n{i}", b"v") for i in range(200)) + b"--B--\r\n"
    refused = client.post(UPLOAD, data=parts, headers={**admin_auth, "Content-Type": MULTIPART})
    assert (refused.status_code, refused.json) == (413, TOO_LARGE)
    assert count(small) == 1


def test_too_many_parts_in_a_body_of_the_limit_is_a_400(make_app, admin_auth):
    body = b"".join(part(f"n{i}", b"v") for i in range(101)) + b"--B--\r\n"
    client = make_app(ATTACHMENT_MAX_BYTES=len(body)).test_client()
    response = client.post(UPLOAD, data=body, headers={**admin_auth, "Content-Type": MULTIPART})
    assert (response.status_code, response.json) == (400, failure("Invalid multipart body", "More than 100 parts, or fields over 65536 bytes"))


def test_the_api_body_limit_does_not_apply_to_files(make_app, admin_auth):
    app = make_app(MAX_CONTENT_LENGTH=100)
    client = app.test_client()
    record = client.post(TABLE, json={}, headers=admin_auth).json["result"]["sys_id"]
    assert upload(client, admin_auth, record, b"x" * 5000).status_code == 201


def test_a_multipart_upload(client, admin_auth, record):
    data = b"\x00\x01binary\r\n--not-a-boundary\r\n" * 100
    response = client.post(
        "/api/now/v1/attachment/upload",
        data={"table_name": "interaction", "table_sys_id": record, "uploadFile": (io.BytesIO(data), "rec ording.wav", "audio/wav")},
        headers=admin_auth,
    )
    assert response.status_code == 201
    result = response.json["result"]
    assert result == {**expected(result["sys_id"], record, data, "rec ording.wav", "audio/wav", result), "created_by_name": "admin", "updated_by_name": "admin"}
    assert response.headers["Location"] == f"{BASE}/api/now/v1/attachment/{result['sys_id']}/file"
    assert client.get(f"/api/now/attachment/{result['sys_id']}/file", headers=admin_auth).data == data


def part(name, value, filename=None, content_type=None):
    disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    head = f"Content-Disposition: {disposition}\r\n" + (f"Content-Type: {content_type}\r\n" if content_type else "")
    return f"--B\r\n{head}\r\n".encode() + value + b"\r\n"


def fields(record):
    return part("table_name", b"interaction") + part("table_sys_id", record.encode())


MULTIPART = "multipart/form-data; boundary=B"
MALFORMED = [
    # (content type, body, message, detail)
    ("multipart/form-data", lambda r: fields(r) + part("f", b"x", "f.txt") + b"--B--\r\n", "Invalid multipart body", "Missing boundary"),
    ("multipart/form-data; boundary=", lambda r: fields(r) + b"--B--\r\n", "Invalid multipart body", "Missing boundary"),
    ("multipart/form-data; boundary=\u00e9", lambda r: fields(r) + b"--B--\r\n", "Invalid multipart body", "Missing boundary"),
    (MULTIPART, lambda r: fields(r) + b"--B--\r\n", "Missing file part", "The multipart body holds no file"),
    (MULTIPART, lambda r: b"", "Missing parameter: table_name", None),
    (MULTIPART, lambda r: fields(r) + part("f", b"x" * 100, "f.txt")[:60], "Invalid multipart body", "Invalid form-data cannot parse beyond State.PART"),
    (MULTIPART, lambda r: b"garbage with no boundary at all", "Invalid multipart body", "Invalid form-data cannot parse beyond State.PREAMBLE"),
    (MULTIPART, lambda r: b"--B\r\nno headers end", "Invalid multipart body", "Invalid form-data cannot parse beyond State.PART"),
    (MULTIPART, lambda r: b"".join(part(f"n{i}", b"v") for i in range(2000)) + b"--B--\r\n", "Invalid multipart body", "More than 100 parts, or fields over 65536 bytes"),
    (MULTIPART, lambda r: part("big", b"v" * 200_000) + b"--B--\r\n", "Invalid multipart body", "More than 100 parts, or fields over 65536 bytes"),
    (MULTIPART, lambda r: part("table_name", b"nothing") + part("table_sys_id", r.encode()) + part("f", b"x", "f.txt") + b"--B--\r\n", "Invalid table or record", None),
    (MULTIPART, lambda r: fields(r) + part("f", b"x", "\x00.txt") + b"--B--\r\n", "Invalid file_name", "file_name must be at most 255 characters, without control characters"),
    (MULTIPART, lambda r: fields(r) + part("f", b"x", "") + b"--B--\r\n", "Missing file part", "The multipart body holds no file"),
    ("application/json", lambda r: b"{}", "Unsupported Media Type", "Content-Type 'application/json' is not supported here; use multipart/form-data"),
    ("Text/Plain; charset=utf-8", lambda r: b"x", "Unsupported Media Type", "Content-Type 'Text/Plain' is not supported here; use multipart/form-data"),
    ("", lambda r: b"", "Unsupported Media Type", "Content-Type '' is not supported here; use multipart/form-data"),
]


@pytest.mark.parametrize("content_type, body, message, detail", MALFORMED)
def test_a_malformed_multipart_body_is_a_4xx_never_a_500_and_stores_nothing(app, client, admin_auth, record, content_type, body, message, detail):
    response = client.post(UPLOAD, data=body(record), headers={**admin_auth, "Content-Type": content_type})
    assert response.status_code == (415 if message == "Unsupported Media Type" else 400), response.data
    assert response.json == failure(message, detail)
    assert count(app) == count(app, SysAttachmentDoc) == 0


def test_a_multipart_file_without_a_filename_takes_the_file_name_field(client, admin_auth, record):
    body = fields(record) + part("file_name", b"named.txt") + part("f", b"data", "x.txt", "text/plain") + b"--B--\r\n"
    response = client.post(UPLOAD, data=body, headers={**admin_auth, "Content-Type": MULTIPART})
    assert (response.status_code, response.json["result"]["file_name"]) == (201, "x.txt")


def test_an_attachment_goes_with_its_record(app, client, admin_auth, record):
    kept = client.post(TABLE, json={}, headers=admin_auth).json["result"]["sys_id"]
    uploaded(client, admin_auth, record)
    uploaded(client, admin_auth, record)
    survivor = uploaded(client, admin_auth, kept)["sys_id"]
    assert client.delete(f"{TABLE}/{record}", headers=admin_auth).status_code == 204
    assert [r["sys_id"] for r in client.get("/api/now/attachment", headers=admin_auth).json["result"]] == [survivor]
    assert count(app, SysAttachmentDoc) == 1
    blob = client.post("/api/now/table/interaction_json_blob", json={"value": "{}"}, headers=admin_auth).json["result"]["sys_id"]
    on_blob = client.post(FILE, query_string={"table_name": "interaction_json_blob", "table_sys_id": blob, "file_name": "f"}, data=b"x", headers={**admin_auth, "Content-Type": "text/plain"})
    assert on_blob.status_code == 201
    assert client.delete(f"/api/now/table/interaction_json_blob/{blob}", headers=admin_auth).status_code == 204
    assert count(app) == 1


def test_reset_deletes_every_attachment(app, client, admin_auth, record):
    uploaded(client, admin_auth, record)
    deleted = client.post("/__stand_in/reset", json={}, headers=admin_auth).json["result"]["deleted"]
    assert (deleted["sys_attachment"], deleted["sys_attachment_doc"]) == (1, 1)
    assert count(app) == count(app, SysAttachmentDoc) == 0


def test_a_snapshot_holds_attachments_bytes_and_restores_them(app, client, admin_auth, record):
    data = bytes(range(256))
    sys_id = uploaded(client, admin_auth, record, data)["sys_id"]
    document = client.get("/__stand_in/snapshot", headers=admin_auth).json
    assert document["tables"]["sys_attachment"][0]["sys_id"] == sys_id
    [chunk] = document["tables"]["sys_attachment_doc"]
    assert chunk["sys_attachment"] == sys_id and chunk["position"] == 0
    client.post("/__stand_in/reset", json={}, headers=admin_auth)
    restored = client.post("/__stand_in/snapshot", json=document, headers=admin_auth).json["result"]["restored"]
    assert (restored["sys_attachment"], restored["sys_attachment_doc"]) == (1, 1)
    assert client.get(f"/api/now/attachment/{sys_id}/file", headers=admin_auth).data == data
    broken = {**document, "tables": {**document["tables"], "sys_attachment_doc": [{**chunk, "data": "not base64!"}]}}
    response = client.post("/__stand_in/snapshot", json=broken, headers=admin_auth)
    assert response.status_code == 400
    assert "sys_attachment_doc.0.data: Not valid base64." in response.json["error"]["message"]
    without = {**document, "tables": {k: v for k, v in document["tables"].items() if not k.startswith("sys_attachment")}}
    assert client.post("/__stand_in/snapshot", json=without, headers=admin_auth).status_code == 200
    assert count(app) == 0


def test_the_journal_keeps_the_beginning_of_an_upload_and_a_download(make_app, admin_auth):
    app = make_app(JOURNAL_BODY_LIMIT=10)
    client = app.test_client()
    record = client.post(TABLE, json={}, headers=admin_auth).json["result"]["sys_id"]
    sys_id = uploaded(client, admin_auth, record, b"0123456789abcdef")["sys_id"]
    client.get(f"/api/now/attachment/{sys_id}/file", headers=admin_auth)
    client.post(UPLOAD, data={"table_name": "interaction", "table_sys_id": record, "f": (io.BytesIO(b"x"), "f")}, headers=admin_auth)
    entries = client.get("/__stand_in/requests?limit=3", headers=admin_auth).json["result"]
    (multipart, download, raw) = entries
    assert (raw["request"]["body"], raw["request"]["body_truncated"]) == ("0123456789", True)
    assert (download["response"]["body"], download["response"]["body_truncated"]) == ("0123456789", True)
    assert multipart["request"]["body"] == "\r\n--------"
    assert multipart["request"]["body_truncated"] is True


def test_a_downloads_beginning_is_stored_as_its_bytes_and_shown_with_escapes_after_an_upgrade_too(make_app, admin_auth):
    def download_entry(app):
        client = app.test_client()
        record = client.post(TABLE, json={}, headers=admin_auth).json["result"]["sys_id"]
        sys_id = uploaded(client, admin_auth, record, b"\xff\xfeab\xe2\x82\xacxyz")["sys_id"]
        transaction_id = client.get(f"/api/now/attachment/{sys_id}/file", headers=admin_auth).headers["X-Transaction-ID"]
        entry = client.get(f"/__stand_in/requests/{transaction_id}", headers=admin_auth).json["result"]
        listed = client.get("/__stand_in/requests?path=/file$&limit=1", headers=admin_auth).json["result"][0]
        assert listed == entry
        with app.app_context():
            stored = StandInRequest.get(StandInRequest.transaction_id == transaction_id)
        return entry, stored

    # The limit cuts the euro sign's three bytes after two.
    app = make_app(JOURNAL_BODY_LIMIT=6)
    entry, stored = download_entry(app)
    assert (entry["response"]["body"], entry["response"]["body_truncated"]) == ("\\xff\\xfeab\\xe2\\x82", True)
    assert (bytes(stored.response_head), json.loads(stored.entry)["response"]["body"]) == (b"\xff\xfeab\xe2\x82", "")
    with app.app_context():
        journal_database.execute_sql('ALTER TABLE "stand_in_request" DROP COLUMN "response_head"')
    # A journal made before the column gains it at the restart.
    entry, stored = download_entry(make_app(JOURNAL_BODY_LIMIT=6))
    assert (entry["response"]["body"], bytes(stored.response_head)) == ("\\xff\\xfeab\\xe2\\x82", b"\xff\xfeab\xe2\x82")


def test_the_journal_keeps_the_beginning_of_a_multipart_upload_read_in_several_parts(client, admin_auth, record):
    """werkzeug reads a multipart body 64 KiB at a time: the journal's 64 KiB
    and a byte (to tell a cut) span two reads."""
    body = fields(record) + part("f", b"0123456789" * 10_000, "f.txt") + b"--B--\r\n"
    assert client.post(UPLOAD, data=body, headers={**admin_auth, "Content-Type": MULTIPART}).status_code == 201
    [entry] = client.get("/__stand_in/requests?limit=1", headers=admin_auth).json["result"]
    assert (entry["request"]["body"], entry["request"]["body_truncated"]) == (body[:65536].decode(), True)


def test_a_multipart_body_over_the_limit_is_a_413_however_many_reads_it_took(make_app, admin_auth):
    client = make_app(ATTACHMENT_MAX_BYTES=70_000).test_client()
    # A field over the form's memory: werkzeug gives up on its second read of 64 KiB.
    response = client.post(UPLOAD, data=part("big", b"v" * 200_000) + b"--B--\r\n", headers={**admin_auth, "Content-Type": MULTIPART})
    assert (response.status_code, response.json) == (413, failure("Exception while reading request", "The attachment is larger than 70000 bytes, the largest this service takes"))


def test_deleting_one_attachment_leaves_the_others_and_their_chunks(app, client, admin_auth, record, monkeypatch):
    monkeypatch.setattr(stored, "CHUNK_BYTES", 1000)
    gone, kept = (uploaded(client, admin_auth, record, data) for data in (b"a" * 2500, b"b" * 2500))
    # The size of all three chunks.
    assert (gone["size_bytes"], kept["size_bytes"]) == ("2500", "2500")
    gone, kept = gone["sys_id"], kept["sys_id"]
    assert client.delete(f"/api/now/attachment/{gone}", headers=admin_auth).status_code == 204
    assert client.get(f"/api/now/attachment/{kept}/file", headers=admin_auth).data == b"b" * 2500
    assert (count(app), count(app, SysAttachmentDoc)) == (1, 3)
    for sys_id in ("\x00", "0" * 33, "not-a-sys-id"):
        response = client.delete(f"/api/now/attachment/{sys_id}", headers=admin_auth)
        assert (response.status_code, response.json) == (404, NO_RECORD)
    assert count(app) == 1


def test_list_without_a_count_and_by_the_caller(client, admin_auth, record):
    uploaded(client, admin_auth, record)
    response = client.get("/api/now/attachment?sysparm_no_count=true", headers=admin_auth)
    assert (len(response.json["result"]), "X-Total-Count" in response.headers) == (1, False)
    mine = client.get("/api/now/attachment?sysparm_query=sys_created_by=javascript:gs.getUserName()", headers=admin_auth)
    assert (len(mine.json["result"]), mine.headers["X-Total-Count"]) == (1, "1")


def test_without_credentials_nothing_is_stored_or_shown(app, client, admin_auth, record):
    sys_id = uploaded(client, admin_auth, record)["sys_id"]
    assert upload(client, {}, record).status_code == 401
    assert client.get(f"/api/now/attachment/{sys_id}/file").status_code == 401
    assert client.get("/api/now/attachment").status_code == 401
    assert client.delete(f"/api/now/attachment/{sys_id}").status_code == 401
    assert count(app) == 1


def test_negotiation_applies_but_a_file_is_served_whatever_the_client_accepts(client, admin_auth, record):
    response = upload(client, {**admin_auth, "Accept": "text/html"}, record)
    assert response.status_code == 406
    sys_id = uploaded(client, admin_auth, record, b"\x89PNG", content_type="image/png")["sys_id"]
    response = client.get(f"/api/now/attachment/{sys_id}/file", headers={**admin_auth, "Accept": "image/png"})
    assert (response.status_code, response.data, response.content_type) == (200, b"\x89PNG", "image/png")
    response = client.get(f"/api/now/attachment/{'0' * 32}/file", headers={**admin_auth, "Accept": "image/png"})
    assert (response.status_code, response.json) == (404, NO_RECORD)
    response = client.get(f"/api/now/attachment/{'0' * 32}/file", headers={**admin_auth, "Accept": "application/xml"})
    assert (response.status_code, etree.fromstring(response.data).findtext("error/message")) == (404, "No Record found")
    assert client.put("/api/now/attachment/file", headers=admin_auth).status_code == 405


def test_soap_deletes_take_the_attachments_with_their_interactions(app, client, admin_auth):
    one = client.post(TABLE, json={"channel": "soap-one"}, headers=admin_auth).json["result"]["sys_id"]
    many = [client.post(TABLE, json={"channel": "soap-many"}, headers=admin_auth).json["result"]["sys_id"] for _ in range(2)]
    kept = client.post(TABLE, json={"channel": "kept"}, headers=admin_auth).json["result"]["sys_id"]
    for record in (one, *many, kept):
        uploaded(client, admin_auth, record)
    soap = {**admin_auth, "Content-Type": SOAP_CONTENT_TYPE}
    assert post(client, soap, envelope("deleteRecord", [("sys_id", one)])).status_code == 200
    assert post(client, soap, envelope("deleteMultiple", [("channel", "soap-many")])).status_code == 200
    assert [r["table_sys_id"] for r in client.get("/api/now/attachment", headers=admin_auth).json["result"]] == [kept]
    assert count(app, SysAttachmentDoc) == 1

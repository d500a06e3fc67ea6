"""The Batch API (MORE_APIS.md §2): inner requests run through the service
as the caller, each with its own status; a malformed envelope runs nothing."""
import base64

import orjson
import pytest
from conftest import CHANNEL, basic, failure
from lxml import etree

from app.batch import inner
from app.models import Interaction, SysUser

BATCH = "/api/now/v1/batch"
TABLE = "/api/now/table/interaction"
JSON_TYPE = "application/json;charset=UTF-8"


def b64(data):
    return base64.b64encode(data).decode()


def item(id, method, url, body=None, **extra):
    request = {"id": id, "method": method, "url": url, **extra}
    if body is not None:
        request["body"] = b64(body)
    return request


def run(client, headers, *requests, **envelope):
    response = client.post(BATCH, json={"batch_request_id": "b1", "rest_requests": list(requests), **envelope}, headers=headers)
    assert response.status_code == 200, response.data
    return response.json


def served(answer):
    """id -> (status, headers as a dict, decoded body)"""
    return {
        item["id"]: (item["status_code"], {h["name"]: h["value"] for h in item["headers"]}, base64.b64decode(item["body"]))
        for item in answer["serviced_requests"]
    }


def interactions(app):
    with app.app_context():
        return Interaction.select().count()


def journal(client, headers):
    return [(e["method"], e["path"], e["status"]) for e in client.get("/__stand_in/requests", headers=headers).json["result"]][::-1]


def test_each_request_is_served_in_order_with_its_own_status_headers_and_body(app, client, admin_auth):
    created = client.post(TABLE, json={"channel": CHANNEL}, headers=admin_auth).json["result"]
    answer = client.post(
        BATCH,
        json={
            "batch_request_id": 7,
            "enforce_order": True,
            "rest_requests": [
                item("get", "GET", f"{TABLE}/{created['sys_id']}?sysparm_fields=number,state"),
                item("patch", "PATCH", f"{TABLE}/{created['sys_id']}?sysparm_fields=state", b'{"state":"on_hold"}',
                     headers=[{"name": "Content-Type", "value": "application/json"}]),
                item("xml", "POST", f"{TABLE}?sysparm_fields=number", b"<request><channel>c</channel></request>",
                     headers=[{"name": "Content-Type", "value": "application/xml"}, {"name": "Accept", "value": "application/xml"}]),
                item("gone", "GET", f"{TABLE}/{'0' * 32}"),
                item("delete", "DELETE", f"{TABLE}/{created['sys_id']}"),
            ],
        },
        headers=admin_auth,
    )

    assert response_ok(answer)
    body = answer.json
    assert body["batch_request_id"] == "7"
    assert body["unserviced_requests"] == []
    assert [i["id"] for i in body["serviced_requests"]] == ["get", "patch", "xml", "gone", "delete"]
    assert [(i["status_code"], i["status_text"]) for i in body["serviced_requests"]] == [
        (200, "OK"), (200, "OK"), (201, "Created"), (404, "Not Found"), (204, "No Content")]
    assert all(isinstance(i["execution_time"], int) for i in body["serviced_requests"])
    answers = served(body)
    assert answers["get"][2] == b'{"result":{"number":"IMS0000001","state":"new"}}'
    assert answers["get"][1]["Content-Type"] == JSON_TYPE
    assert len(answers["get"][1]["X-Transaction-ID"]) == 16
    assert answers["patch"][2] == b'{"result":{"state":"on_hold"}}'
    status, headers, xml = answers["xml"]
    assert headers["Content-Type"] == "application/xml;charset=UTF-8"
    assert headers["Location"].startswith(f"http://localhost{TABLE}/")
    assert xml == b'<?xml version="1.0" encoding="UTF-8"?>\n<response><result><number>IMS0000002</number></result></response>'
    assert answers["gone"][2] == b'{"error":{"message":"No Record found","detail":"Record doesn\'t exist or ACL restricts the record retrieval"},"status":"failure"}'
    assert answers["delete"][2] == b""
    assert interactions(app) == 1


def response_ok(response):
    return response.status_code == 200 and response.headers["Content-Type"] == JSON_TYPE


def test_one_failing_request_never_stops_the_others_and_each_commits_alone(app, client, admin_auth):
    answer = run(
        client,
        admin_auth,
        item("1", "POST", TABLE, b'{"channel":"one"}'),
        item("2", "POST", TABLE, b'{"short_description":"' + b"x" * 161 + b'"}'),
        item("3", "POST", TABLE, b"{not json"),
        item("4", "POST", TABLE, b"<request/>", headers=[{"name": "Content-Type", "value": "text/plain"}]),
        item("5", "GET", "/api/now/table/nothing"),
        item("6", "POST", TABLE, b'{"channel":"six"}'),
    )
    statuses = {id: status for id, (status, _, _) in served(answer).items()}
    assert statuses == {"1": 201, "2": 400, "3": 400, "4": 415, "5": 400, "6": 201}
    assert served(answer)["5"][2] == b'{"error":{"message":"Invalid table nothing","detail":null},"status":"failure"}'
    with app.app_context():
        assert sorted(i.channel for i in Interaction.select()) == ["one", "six"]


def test_each_request_runs_as_the_caller_whatever_authorization_it_names(app, client, admin_auth, runner):
    assert runner.invoke(args=["user", "add", "bob", "--password", "bob-secret"]).exit_code == 0
    bob = basic("bob", "bob-secret")
    answer = run(
        client,
        bob,
        item("mine", "POST", f"{TABLE}?sysparm_fields=opened_by&sysparm_exclude_reference_link=true", b"{}",
             headers=[{"name": "Authorization", "value": admin_auth["Authorization"]}]),
        item("admin only", "GET", "/api/now/table/sys_user?sysparm_fields=user_name&user_name=bob"),
    )
    with app.app_context():
        bob_id = SysUser.get(SysUser.user_name == "bob").sys_id
    assert served(answer)["mine"][2] == b'{"result":{"opened_by":"%s"}}' % bob_id.encode()
    assert served(answer)["admin only"][2] == b'{"result":[{"user_name":"bob"}]}'
    entries = client.get("/__stand_in/requests", headers=admin_auth).json["result"]
    assert [(e["user"], e["path"]) for e in entries][:3] == [("bob", BATCH), ("bob", "/api/now/table/sys_user"), ("bob", TABLE)]


def test_without_credentials_nothing_runs(app, client, admin_auth):
    response = client.post(BATCH, json={"rest_requests": [item("1", "POST", TABLE, b"{}")]})
    assert response.status_code == 401
    assert response.json == failure("User Not Authenticated", "Required to provide Auth information")
    response = client.post(BATCH, json={"rest_requests": [item("1", "POST", TABLE, b"{}")]}, headers=basic("admin", "wrong"))
    assert response.status_code == 401
    assert interactions(app) == 0


def test_each_request_has_its_journal_entry_beside_the_batchs_own(client, admin_auth):
    client.delete("/__stand_in/requests", headers=admin_auth)
    run(client, admin_auth, item("1", "GET", f"{TABLE}?sysparm_limit=1"), item("2", "GET", "/api/now/nowhere"))
    assert journal(client, admin_auth) == [
        ("GET", TABLE, 200),
        ("GET", "/api/now/nowhere", 400),
        ("POST", BATCH, 200),
    ]
    entry = client.get("/__stand_in/requests?path=nowhere", headers=admin_auth).json["result"][0]
    assert entry["request"]["headers"]["Authorization"] == "Basic ***"
    assert entry["query"] == ""


def test_fault_rules_match_inner_requests(client, admin_auth):
    rule = {"match": {"path": "^/api/now/table/interaction$"}, "effect": {"type": "error", "status": 503}, "times": 1}
    rule_id = client.post("/__stand_in/faults", json=rule, headers=admin_auth).json["result"]["id"]
    answer = run(client, admin_auth, item("1", "GET", TABLE), item("2", "GET", TABLE))
    first, second = served(answer)["1"], served(answer)["2"]
    assert first[0] == 503
    assert first[1]["X-Stand-In-Fault"] == str(rule_id)
    assert first[2] == b'{"error":{"message":"Service Unavailable","detail":null},"status":"failure"}'
    assert second[0] == 200


def test_a_drop_fault_on_an_inner_request_is_an_empty_502_in_its_item(client, admin_auth):
    rule = {"match": {"path": "^/api/now/table/"}, "effect": {"type": "drop"}, "times": 1}
    client.post("/__stand_in/faults", json=rule, headers=admin_auth)
    answer = run(client, admin_auth, item("1", "GET", TABLE), item("2", "GET", TABLE))
    assert [(i["status_code"], i["body"]) for i in answer["serviced_requests"]] == [(502, ""), (200, b64(b'{"result":[]}'))]


def test_exclude_response_headers_leaves_them_out(client, admin_auth):
    answer = run(client, admin_auth, item("1", "GET", TABLE, exclude_response_headers=True), item("2", "GET", TABLE, exclude_response_headers="false"))
    assert answer["serviced_requests"][0]["headers"] == []
    assert answer["serviced_requests"][1]["headers"]


@pytest.mark.parametrize(
    "request_, status, message, detail",
    [
        (item("1", "POST", BATCH, b'{"rest_requests":[]}'), 400, "Invalid batch request", "A batch cannot hold a batch"),
        (item("1", "POST", "/api/now/batch/", b'{"rest_requests":[]}'), 400, "Invalid batch request", "A batch cannot hold a batch"),
        (item("1", "POST", "/__stand_in/reset", b"{}"), 400, "Invalid batch request", "An inner request's url must be a path under /api/now/"),
        (item("1", "POST", "https://elsewhere.example/api/now/table/interaction", b"{}"), 400, "Invalid batch request",
         "An inner request's url must be a path under /api/now/"),
        (item("1", "POST", "/api/now/../../__stand_in/reset", b"{}"), 400, "Requested URI does not represent any resource", None),
        (item("1", "POST", "/api/now/%2E%2E/%2E%2E/__stand_in/reset", b"{}"), 400, "Requested URI does not represent any resource", None),
        (item("1", "TRACE", TABLE), 405, "Method not Supported", "TRACE method not supported for API"),
        (item("1", "G\nET", TABLE), 405, "Method not Supported", "G\\nET method not supported for API"),
        (item("1", "HEAD", TABLE), 405, "Method not Supported", "HEAD method not supported for API"),
        (item("1", "PUT", TABLE), 405, "Method not Supported", "PUT method not supported for API"),
    ],
)
def test_requests_the_batch_does_not_run_are_refused_in_their_item(app, client, admin_auth, request_, status, message, detail):
    client.post(TABLE, json={}, headers=admin_auth)
    answer = run(client, admin_auth, request_, item("after", "GET", f"{TABLE}?sysparm_fields=number"))
    (first, after) = answer["serviced_requests"]
    assert (first["status_code"], base64.b64decode(first["body"])) == (status, orjson.dumps(failure(message, detail)))
    assert served(answer)["after"][2] == b'{"result":[{"number":"IMS0000001"}]}'
    assert interactions(app) == 1


def test_a_refused_item_answers_in_the_format_it_asked_for(client, admin_auth):
    answer = run(client, admin_auth, item("1", "TRACE", TABLE, headers=[{"name": "Accept", "value": "application/xml"}]))
    status, headers, body = served(answer)["1"]
    assert headers == {"Content-Type": "application/xml;charset=UTF-8"}
    assert etree.fromstring(body).findtext("error/message") == "Method not Supported"


def test_an_inner_body_over_5_mib_is_a_413_in_its_item(client, admin_auth):
    big = b'{"channel":"' + b"x" * inner.MAX_BODY + b'"}'
    answer = run(client, admin_auth, item("1", "POST", TABLE, big), item("2", "POST", TABLE, b"{}"))
    first = served(answer)["1"]
    assert first[0] == 413
    assert first[2] == orjson.dumps(failure("Exception while reading request", f"Rejected large REST payload of {len(big)} bytes. Max allowed: {inner.MAX_BODY} bytes."))
    assert served(answer)["2"][0] == 201


def test_an_inner_answer_over_the_limit_is_a_500_in_its_item_its_work_done(app, client, admin_auth, monkeypatch):
    monkeypatch.setattr(inner, "MAX_ANSWER", 100)
    answer = run(client, admin_auth, item("1", "POST", TABLE, b"{}"), item("2", "GET", f"{TABLE}?sysparm_fields=number"))
    first = served(answer)["1"]
    assert first[0] == 500
    assert first[2] == orjson.dumps(failure("Internal server error", "The answer is over 100 bytes, the Batch API's limit"))
    assert served(answer)["2"] == (200, served(answer)["2"][1], b'{"result":[{"number":"IMS0000001"}]}')
    assert interactions(app) == 1


MALFORMED = [
    (b"[]", "Exception while reading request", "The request body must be an object"),
    (b"{", "Exception while reading request", None),
    (b"{}", "Invalid batch request", "rest_requests: Missing data for required field."),
    (b'{"rest_requests": {"id": "1"}}', "Invalid batch request", "rest_requests: Not a valid list."),
    (b'{"rest_requests": "x"}', "Invalid batch request", "rest_requests: Not a valid list."),
    (b'{"rest_requests": [{"method": "GET", "url": "/api/now/table/interaction"}]}', "Invalid batch request", "rest_requests.1.id: Missing data for required field."),
    (b'{"rest_requests": [{"id": "1", "url": "/api/now/table/interaction"}]}', "Invalid batch request", "rest_requests.1.method: Missing data for required field."),
    (b'{"rest_requests": [{"id": "1", "method": "GET"}]}', "Invalid batch request", "rest_requests.1.url: Missing data for required field."),
    (b'{"rest_requests": [{"id": "1", "method": 5, "url": "/"}]}', "Invalid batch request", "rest_requests.1.method: Not a valid string."),
    (b'{"rest_requests": [{"id": null, "method": "GET", "url": "/"}]}', "Invalid batch request", "rest_requests.1.id: Field may not be null."),
    (b'{"rest_requests": [{"id": true, "method": "GET", "url": "/"}]}', "Invalid batch request", "rest_requests.1.id: Not a valid string."),
    (b'{"batch_request_id": ["b"], "rest_requests": []}', "Invalid batch request", "batch_request_id: Not a valid string."),
    (b'{"rest_requests": ["x"]}', "Invalid batch request", "rest_requests.1: Invalid input type."),
    (b'{"rest_requests": [{"id": "1", "method": "GET", "url": "/", "headers": [{"name": "A"}]}]}', "Invalid batch request",
     "rest_requests.1.headers.0.value: Missing data for required field."),
    (b'{"rest_requests": [{"id": "1", "method": "GET", "url": "/", "headers": "Accept"}]}', "Invalid batch request",
     "rest_requests.1.headers: Not a valid list."),
]


@pytest.mark.parametrize("body, message, detail", MALFORMED)
def test_a_malformed_envelope_is_a_400_and_nothing_runs(app, client, admin_auth, body, message, detail):
    client.delete("/__stand_in/requests", headers=admin_auth)
    valid = b64(b"{}")
    # A valid request first: none of it runs when a later part is malformed.
    body = body.replace(b'{"rest_requests": [', b'{"rest_requests": [{"id": "0", "method": "POST", "url": "/api/now/table/interaction", "body": "%s"}, ' % valid.encode())
    response = client.post(BATCH, data=body, headers={**admin_auth, "Content-Type": "application/json"})
    assert response.status_code == 400
    if detail is None:
        assert response.json["error"]["message"] == message
    else:
        assert response.json == failure(message, detail)
    assert interactions(app) == 0
    assert journal(client, admin_auth) == [("POST", BATCH, 400)]


@pytest.mark.parametrize("body", ["not base64!", "QUJD=", "QUJDRA", "QUJD\nRA==", "QU JD", "QUJ!", "QUJD****"])
def test_a_body_that_is_no_base64_is_a_400_and_nothing_runs(app, client, admin_auth, body):
    response = client.post(
        BATCH,
        json={"rest_requests": [item("0", "POST", TABLE, b"{}"), {"id": "1", "method": "POST", "url": TABLE, "body": body}]},
        headers=admin_auth,
    )
    assert response.status_code == 400
    assert response.json == failure("Invalid batch request", "rest_requests.1.body: Not valid base64.")
    assert interactions(app) == 0


def test_a_batch_serves_1000_requests_and_answers_the_rests_ids_as_unserviced(app, client, admin_auth):
    too_many = [item(str(n), "POST", TABLE, b"{}") for n in range(1002)]
    answer = run(client, admin_auth, *too_many)
    assert [served["id"] for served in answer["serviced_requests"]] == [str(n) for n in range(1000)]
    assert answer["unserviced_requests"] == ["1000", "1001"]
    assert interactions(app) == 1000
    answer = run(client, admin_auth, *too_many[:1000])
    assert (len(answer["serviced_requests"]), answer["unserviced_requests"]) == (1000, [])
    assert interactions(app) == 2000


def test_an_xml_batch_lists_its_unserviced_ids(client, admin_auth):
    requests = "".join(f"<rest_requests><id>r{n}</id><method>GET</method><url>{TABLE}?sysparm_limit=1</url></rest_requests>" for n in range(1001))
    headers = {**admin_auth, "Content-Type": "application/xml", "Accept": "application/xml"}
    response = client.post(BATCH, data=f"<request>{requests}</request>", headers=headers)
    assert response.status_code == 200
    root = etree.fromstring(response.data)
    assert (len(root.findall("serviced_requests")), [e.text for e in root.findall("unserviced_requests")]) == (1000, ["r1000"])


def test_an_empty_batch_answers_nothing_served(client, admin_auth):
    assert run(client, admin_auth) == {"batch_request_id": "b1", "serviced_requests": [], "unserviced_requests": []}


def test_a_batch_in_xml_both_ways(app, client, admin_auth):
    body = (
        b"<request><batch_request_id>x1</batch_request_id><rest_requests><id>a</id><method>POST</method>"
        b"<url>/api/now/table/interaction?sysparm_fields=number</url>"
        b"<headers><name>Content-Type</name><value>application/json</value></headers>"
        b"<body>" + b64(b'{"channel":"c"}').encode() + b"</body><exclude_response_headers>true</exclude_response_headers>"
        b"</rest_requests></request>"
    )
    response = client.post(BATCH, data=body, headers={**admin_auth, "Content-Type": "application/xml", "Accept": "application/xml"})
    assert response.status_code == 200
    root = etree.fromstring(response.data)
    assert root.findtext("batch_request_id") == "x1"
    assert root.findtext("serviced_requests/id") == "a"
    assert root.findtext("serviced_requests/status_code") == "201"
    assert base64.b64decode(root.findtext("serviced_requests/body")) == b'{"result":{"number":"IMS0000001"}}'
    assert root.find("serviced_requests/headers") is None
    assert root.find("unserviced_requests") is None


def test_an_xml_batch_of_several_requests_with_several_headers_or_none(app, client, admin_auth):
    body = (
        b"<request><rest_requests><id>a</id><method>POST</method><url>/api/now/table/interaction?sysparm_fields=number</url>"
        b"<headers><name>Content-Type</name><value>application/json</value></headers>"
        b"<headers><name>Accept</name><value>application/xml</value></headers>"
        b"<body>" + b64(b'{"channel":"c"}').encode() + b"</body></rest_requests>"
        b"<rest_requests><id>b</id><method>GET</method><url>/api/now/table/interaction?sysparm_fields=number</url></rest_requests>"
        b"</request>"
    )
    response = client.post(BATCH, data=body, headers={**admin_auth, "Content-Type": "application/xml"})
    assert response.status_code == 200, response.data
    answers = served(response.json)
    # The first's two headers both apply: a JSON body read, an XML answer.
    status, headers, answer = answers["a"]
    assert (status, headers["Content-Type"]) == (201, "application/xml;charset=UTF-8")
    assert answer == b'<?xml version="1.0" encoding="UTF-8"?>\n<response><result><number>IMS0000001</number></result></response>'
    status, headers, answer = answers["b"]
    assert (status, headers["Content-Type"], answer) == (200, JSON_TYPE, b'{"result":[{"number":"IMS0000001"}]}')


@pytest.mark.parametrize(
    "requests, detail",
    [
        (b"<rest_requests>text</rest_requests><rest_requests><id>a</id><method>GET</method><url>/</url></rest_requests>", "rest_requests.0: Invalid input type."),
        (b"<rest_requests><id>a</id><method>GET</method><url>/</url><headers>Accept</headers></rest_requests>", "rest_requests.0.headers: Not a valid list."),
        # As in JSON, not a list of its characters.
        (b"<rest_requests>text</rest_requests>", "rest_requests: Not a valid list."),
    ],
)
def test_an_xml_batch_of_text_where_requests_or_headers_go_is_a_400(app, client, admin_auth, requests, detail):
    response = client.post(BATCH, data=b"<request>" + requests + b"</request>", headers={**admin_auth, "Content-Type": "application/xml"})
    assert (response.status_code, response.json) == (400, failure("Invalid batch request", detail))
    assert interactions(app) == 0


def test_an_ignored_header_does_not_end_the_headers_and_repeated_ones_join_but_content_type(client, admin_auth):
    headers = [
        {"name": "Content-Length", "value": "1"},
        {"name": "Accept", "value": "application/xml"},
        {"name": "X-Trace", "value": "a"},
        {"name": "X-Trace", "value": "b"},
        {"name": "Content-Type", "value": "application/xml"},
        {"name": "Content-Type", "value": "application/json"},
    ]
    answer = run(client, admin_auth, item("1", "POST", f"{TABLE}?sysparm_fields=number", b'{"channel":"c"}', headers=headers))
    status, answered, body = served(answer)["1"]
    # The JSON body read by the last Content-Type; the answer in XML, as Accept asked.
    assert (status, answered["Content-Type"]) == (201, "application/xml;charset=UTF-8")
    assert body == b'<?xml version="1.0" encoding="UTF-8"?>\n<response><result><number>IMS0000001</number></result></response>'
    [entry] = client.get("/__stand_in/requests?path=^/api/now/table/interaction$", headers=admin_auth).json["result"]
    assert entry["request"]["headers"]["X-Trace"] == "a,b"


def test_a_method_in_lower_case_runs_and_an_unknown_status_has_no_text(client, admin_auth):
    client.post(TABLE, json={}, headers=admin_auth)
    answer = run(client, admin_auth, item("1", "get", f"{TABLE}?sysparm_fields=number"))
    assert answer["serviced_requests"][0]["status_code"] == 200
    rule = client.post("/__stand_in/faults", json={"match": {"path": "^/api/now/table/"}, "effect": {"type": "error", "status": 599}}, headers=admin_auth)
    assert rule.status_code == 201
    answer = run(client, admin_auth, item("1", "GET", TABLE))
    assert (answer["serviced_requests"][0]["status_code"], answer["serviced_requests"][0]["status_text"]) == (599, "")


def test_an_inner_body_of_the_limit_runs_and_a_byte_more_is_a_413(app, client, admin_auth, monkeypatch):
    body = b'{"channel":"c"}'
    monkeypatch.setattr(inner, "MAX_BODY", len(body))
    assert served(run(client, admin_auth, item("1", "POST", TABLE, body)))["1"][0] == 201
    monkeypatch.setattr(inner, "MAX_BODY", len(body) - 1)
    status, _, answered = served(run(client, admin_auth, item("1", "POST", TABLE, body)))["1"]
    assert (status, answered) == (413, orjson.dumps(failure("Exception while reading request", f"Rejected large REST payload of {len(body)} bytes. Max allowed: {len(body) - 1} bytes.")))
    assert interactions(app) == 1


def test_a_streamed_answer_of_several_chunks_is_served_whole_up_to_the_limit(client, admin_auth, monkeypatch):
    from app.records import attachments as stored

    monkeypatch.setattr(stored, "CHUNK_BYTES", 1000)
    record = client.post(TABLE, json={}, headers=admin_auth).json["result"]["sys_id"]
    data = bytes(range(250)) * 10
    query = {"table_name": "interaction", "table_sys_id": record, "file_name": "f.bin"}
    sys_id = client.post("/api/now/attachment/file", query_string=query, data=data, headers={**admin_auth, "Content-Type": "application/octet-stream"}).json["result"]["sys_id"]
    download = item("1", "GET", f"/api/now/attachment/{sys_id}/file")
    monkeypatch.setattr(inner, "MAX_ANSWER", len(data))
    assert served(run(client, admin_auth, download))["1"][::2] == (200, data)
    # Each chunk under the limit, all three over it.
    monkeypatch.setattr(inner, "MAX_ANSWER", len(data) - 1)
    status, _, answered = served(run(client, admin_auth, download))["1"]
    assert (status, answered) == (500, orjson.dumps(failure("Internal server error", f"The answer is over {len(data) - 1} bytes, the Batch API's limit")))


def test_an_items_execution_time_is_in_milliseconds(client, admin_auth, monkeypatch):
    import types

    monkeypatch.setattr(inner, "time", types.SimpleNamespace(perf_counter=iter([1.0, 1.7]).__next__))
    assert run(client, admin_auth, item("1", "TRACE", TABLE))["serviced_requests"][0]["execution_time"] == 700


def test_only_post_and_the_unversioned_path_too(client, admin_auth):
    response = client.get(BATCH, headers=admin_auth)
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert client.post("/api/now/batch", json={"rest_requests": []}, headers=admin_auth).status_code == 200


@pytest.mark.parametrize(
    "request_",
    [
        item("1", "GET", "/api/now/table/interaction?sysparm_query=short_description=caf\u00e9\u2603"),
        item("1", "GET", "/api/now/table/interaction/%00"),
        item("1", "GET", "/api/now/table/%ff%fe"),
        item("1", "GET", TABLE, headers=[{"name": "Accept", "value": "application/\u2603"}]),
        item("1", "GET", TABLE, headers=[{"name": "X Odd\nName", "value": "v\r\nInjected: 1"}]),
        item("1", "GET", TABLE, headers=[{"name": "Content-Length", "value": "99999"}, {"name": "Transfer-Encoding", "value": "chunked"}]),
        item("1", "POST", TABLE, b"\xff\xfe{", headers=[{"name": "Content-Type", "value": "application/json; charset=utf-16"}]),
        item("1", "POST", TABLE, b"<request><channel>c</channel></request>", headers=[{"name": "Content-Type", "value": "application/xml; charset=nonsense"}]),
        item("1", "POST", "/api/now/attachment/upload", b"--B\r\n", headers=[{"name": "Content-Type", "value": "multipart/form-data; boundary=B"}]),
    ],
)
def test_hostile_inner_requests_are_4xx_in_their_item_never_a_500(client, admin_auth, request_):
    answer = run(client, admin_auth, request_, item("2", "GET", TABLE))
    first, second = answer["serviced_requests"]
    assert first["status_code"] < 500, base64.b64decode(first["body"])
    assert second["status_code"] == 200


def _batch_entry(client, admin_auth):
    return client.get("/__stand_in/requests?path=batch$&limit=1", headers=admin_auth).json["result"][0]


def test_the_batchs_journal_entry_masks_its_inner_requests_credentials_and_passwords(client, admin_auth):
    token = "Bearer c2VjcmV0LXRva2VuLXRoYXQtbXVzdC1ub3QtbGVhaw"
    password = b'{"user_name": "jo", "user_password": "Jo-s3cret!"}'
    requests = [
        item("bearer", "GET", TABLE, headers=[{"name": "authorization", "value": token}, {"name": "Accept", "value": "application/json"}]),
        item("basic", "GET", TABLE, headers=[{"name": "Authorization", "value": admin_auth["Authorization"]}]),
        item("user", "POST", "/api/now/table/sys_user", password, headers=[{"name": "Content-Type", "value": "application/json"}]),
    ]
    run(client, admin_auth, *requests)
    entry = _batch_entry(client, admin_auth)
    kept = orjson.loads(entry["request"]["body"])
    assert [[(h["name"], h["value"]) for h in r["headers"]] for r in kept["rest_requests"]] == [
        [("authorization", "Bearer ***"), ("Accept", "application/json")],
        [("Authorization", "Basic ***")],
        [("Content-Type", "application/json")],
    ]
    assert base64.b64decode(kept["rest_requests"][2]["body"]) == b'{"user_name": "jo", "user_password": "***"}'
    assert token.split()[1] not in str(entry) and "Jo-s3cret!" not in str(entry)
    assert admin_auth["Authorization"].split()[1] not in str(entry)


def test_an_xml_batchs_journal_entry_masks_them_too(client, admin_auth):
    body = base64.b64encode(b"<request><user_name>jo</user_name><user_password>Jo-s3cret!</user_password></request>").decode()
    envelope = (
        "<request><batch_request_id>x</batch_request_id><rest_requests><id>1</id><method>POST</method>"
        "<url>/api/now/table/sys_user</url><headers><name>Authorization</name><value>Bearer t0ken-t0ken</value></headers>"
        f"<headers><name>Content-Type</name><value>application/xml</value></headers><body>{body}</body></rest_requests></request>"
    )
    headers = {**admin_auth, "Content-Type": "application/xml", "Accept": "application/json"}
    assert client.post(BATCH, data=envelope, headers=headers).status_code == 200
    kept = etree.fromstring(_batch_entry(client, admin_auth)["request"]["body"].encode())
    assert [(h.findtext("name"), h.findtext("value")) for h in kept.iter("headers")] == [("Authorization", "Bearer ***"), ("Content-Type", "application/xml")]
    assert base64.b64decode(kept.findtext("rest_requests/body")) == b"<request><user_name>jo</user_name><user_password>***</user_password></request>"


def test_a_batch_with_nothing_to_mask_is_journaled_as_it_came_and_an_unreadable_one_as_stars(client, admin_auth):
    sent = b'{"rest_requests": [{"id": "1", "method": "GET", "url": "/api/now/table/interaction", "body": "not base64!"}]}'
    client.post(BATCH, data=sent, headers={**admin_auth, "Content-Type": "application/json"})
    assert _batch_entry(client, admin_auth)["request"]["body"] == sent.decode()
    broken = b'{"rest_requests": [{"headers": [{"name": "Authorization", "value": "Bearer leaked"}]'
    assert client.post(BATCH, data=broken, headers={**admin_auth, "Content-Type": "application/json"}).status_code == 400
    assert _batch_entry(client, admin_auth)["request"]["body"] == "***"
    assert client.post(BATCH, data=b"<request><rest_requests>", headers={**admin_auth, "Content-Type": "application/xml"}).status_code == 400
    assert _batch_entry(client, admin_auth)["request"]["body"] == "***"


def test_a_batch_refused_for_its_credentials_is_journaled_masked_too(client, admin_auth):
    sent = {"rest_requests": [item("1", "GET", TABLE, headers=[{"name": "Authorization", "value": "Bearer no-one-sees-this"}])]}
    assert client.post(BATCH, json=sent).status_code == 401
    entry = _batch_entry(client, admin_auth)
    assert entry["status"] == 401 and "no-one-sees-this" not in str(entry)


def test_the_batchs_journal_entry_masks_whatever_else_the_envelope_holds(client, admin_auth):
    """Items that are no request or header, a body of base64 with a stray
    character (refused, and still a password to anyone decoding it), and
    requests after the masked ones that have nothing to mask."""
    password = b64(b'{"user_password": "Jo-s3cret!"}')
    sent = {"rest_requests": [
        "no request",
        {"id": "1", "method": "POST", "url": TABLE, "body": password[:4] + "!" + password[4:],
         "headers": ["no header", {"name": 5, "value": "v"}, {"name": "Authorization", "value": "Bearer t0ken"}, {"name": "Accept", "value": "*/*"}]},
        {"id": "2", "method": "POST", "url": TABLE, "body": b64(b"{}")},
    ]}  # fmt: skip
    assert client.post(BATCH, json=sent, headers=admin_auth).status_code == 400
    kept = orjson.loads(_batch_entry(client, admin_auth)["request"]["body"])
    first, second = kept["rest_requests"][1:]
    assert first["headers"][1:] == [{"name": 5, "value": "v"}, {"name": "Authorization", "value": "Bearer ***"}, {"name": "Accept", "value": "*/*"}]
    assert base64.b64decode(first["body"]) == b'{"user_password": "***"}'
    assert second["body"] == b64(b"{}")


def test_an_xml_batchs_entry_masks_a_header_before_plain_ones_and_keeps_an_envelope_with_nothing_to_mask(client, admin_auth):
    headers = {**admin_auth, "Content-Type": "application/xml", "Accept": "application/json"}
    envelope = (
        "<request><rest_requests><id>1</id><method>GET</method><url>/api/now/table/interaction</url>"
        "<headers><name>Authorization</name><value>Bearer t0ken</value></headers>"
        "<headers><name/><value>no name</value></headers>"
        "<headers><name>Accept</name><value>application/json</value></headers>"
        f"<body>{b64(b'{}')}</body></rest_requests></request>"
    )
    # A header without a name makes the batch a 400; its envelope is journaled alike.
    assert client.post(BATCH, data=envelope, headers=headers).status_code == 400
    text = _batch_entry(client, admin_auth)["request"]["body"]
    assert text.startswith("<?xml version='1.0' encoding='UTF-8'?>")
    kept = etree.fromstring(text.encode())
    assert [(h.findtext("name"), h.findtext("value")) for h in kept.iter("headers")] == [
        ("Authorization", "Bearer ***"), ("", "no name"), ("Accept", "application/json")
    ]
    plain = envelope.replace("<headers><name>Authorization</name><value>Bearer t0ken</value></headers>", "").replace("<request>", "<request>\n  ")
    assert client.post(BATCH, data=plain, headers=headers).status_code == 400
    assert _batch_entry(client, admin_auth)["request"]["body"] == plain

"""The seven operations (SOAP.md §3) and their faults (§4), through the
test client, on the same records as the Table API."""
from xml.sax.saxutils import escape

import pytest
from conftest import CHANNEL, QUEUE, basic
from soap_envelopes import SOAP_CONTENT_TYPE, answer, canonical, envelope, fault_xml, post, response_xml

from app import users
from app.models import ADMIN_SYS_ID, Interaction
from app.records import catalog as fields
from app.records import store
from app.soap import operations
from app.records.query import Caller

ABORTED = "com.glide.processors.soap.SOAPProcessingException: {} Aborted : {}"
REFERENCES = ("assigned_to", "closed_by", "opened_by", "opened_for")
AGENT_SYS_ID = "a1" * 16


@pytest.fixture
def soap(client, admin_auth):
    def call(operation, children=(), query="SOAP"):
        return post(client, admin_auth, envelope(operation, children), query)

    return call


@pytest.fixture
def agent(app):
    with app.app_context():
        users.add("agent.smith", "agent-secret", sys_id=AGENT_SYS_ID)


def inserted(soap, **values):
    response = soap("insert", values.items())
    assert response.status_code == 200, response.data
    return dict(answer(response))["sys_id"]


def table_record(client, admin_auth, sys_id):
    response = client.get(
        f"/api/now/table/interaction/{sys_id}?sysparm_exclude_reference_link=true", headers=admin_auth
    )
    assert response.status_code == 200
    return response.json["result"]


def elements(record):
    """A record's columns as XML elements in the WSDL's (alphabetical) order."""
    return "".join(f"<{name}>{escape(record[name])}</{name}>" for name in sorted(record))


def assert_xml(response, expected, status=200):
    assert response.status_code == status, response.data
    assert response.headers["Content-Type"] == SOAP_CONTENT_TYPE
    assert canonical(response.data) == canonical(expected)


def assert_fault(response, code, string):
    assert_xml(response, fault_xml(code, string), 500)


# insert


def test_insert_answers_sys_id_and_number_and_follows_the_table_apis_rules(soap, client, admin_auth):
    response = soap("insert", [("channel", CHANNEL), ("queue", QUEUE), ("short_description", "a < b & c")])
    sys_id = dict(answer(response))["sys_id"]
    assert_xml(response, response_xml("insert", f"<sys_id>{sys_id}</sys_id><number>IMS0000001</number>"))
    record = table_record(client, admin_auth, sys_id)
    assert (record["channel"], record["queue"], record["state"]) == (CHANNEL, QUEUE, "queued")
    assert (record["opened_by"], record["short_description"], record["number"]) == (
        ADMIN_SYS_ID,
        "a < b & c",
        "IMS0000001",
    )


def test_insert_needs_no_column_and_ignores_read_only_and_unknown_ones(soap, client, admin_auth):
    sys_id = inserted(soap, number="X1", opened_by=AGENT_SYS_ID, sys_id="f" * 32, colour="red")
    record = table_record(client, admin_auth, sys_id)
    assert (record["number"], record["opened_by"], record["state"], record["channel"]) == (
        "IMS0000001",
        ADMIN_SYS_ID,
        "new",
        "",
    )
    assert sys_id != "f" * 32


def test_a_reference_may_be_given_by_user_name_or_sys_id(soap, client, admin_auth, agent):
    sys_id = inserted(soap, opened_for="agent.smith", assigned_to=AGENT_SYS_ID)
    record = table_record(client, admin_auth, sys_id)
    assert (record["opened_for"], record["assigned_to"]) == (AGENT_SYS_ID, AGENT_SYS_ID)


def test_insert_breaking_the_rules_is_a_server_fault(soap):
    assert_fault(
        soap("insert", [("channel", "x" * 33)]),
        "Server",
        ABORTED.format("Insert", "channel: Longer than maximum length 32."),
    )


# get


def test_get_answers_every_column_as_the_table_api_reads_it(soap, client, admin_auth):
    sys_id = inserted(soap, channel=CHANNEL, short_description="tea & <biscuits>")
    record = table_record(client, admin_auth, sys_id)
    assert_xml(soap("get", [("sys_id", sys_id)]), response_xml("get", elements(record)))


def test_get_with_display_values(soap, client, admin_auth, agent):
    sys_id = inserted(soap, channel=CHANNEL, assigned_to=AGENT_SYS_ID, state="work_in_progress")
    record = table_record(client, admin_auth, sys_id)

    shown = {**record, "assigned_to": "agent.smith", "opened_by": "admin"}
    assert_xml(soap("get", [("sys_id", sys_id)], "SOAP&displayvalue=true"), response_xml("get", elements(shown)))

    both = "".join(
        f"<{name}>{record[name]}</{name}>"
        + (
            f"<dv_{name}>{ {'assigned_to': 'agent.smith', 'opened_by': 'admin'}.get(name, '') }</dv_{name}>"
            if name in REFERENCES
            else ""
        )
        for name in sorted(record)
    )
    assert "<state>work_in_progress</state>" in both
    assert_xml(soap("get", [("sys_id", sys_id)], "displayvalue=all&SOAP"), response_xml("get", both))


def test_get_of_an_unknown_sys_id_is_an_empty_response(soap):
    for sys_id in ("0" * 32, "", "x" * 100):
        assert_xml(soap("get", [("sys_id", sys_id)]), response_xml("get", ""))


def test_get_leaves_excluded_columns_out(soap):
    sys_id = inserted(soap, channel=CHANNEL)
    response = soap(
        "get", [("sys_id", sys_id), ("__exclude_columns", "channel, opened_by,nonsense"), ("__use_view", "x")]
    )
    got = [name for name, _ in answer(response)]
    assert "channel" not in got and "opened_by" not in got and len(got) == 19
    response = soap("get", [("sys_id", sys_id), ("__exclude_columns", "opened_by")], "SOAP&displayvalue=all")
    assert "dv_opened_by" not in dict(answer(response)) and "dv_opened_for" in dict(answer(response))


# getRecords and getKeys


@pytest.fixture
def many(app):
    """Interactions made in the records layer: channel c<n % 3>, queue q<n>,
    short_description empty for even n; their sys_ids in the order made."""

    def make(count):
        with app.app_context():
            caller = Caller(ADMIN_SYS_ID, "admin")
            return [
                store.insert(
                    fields.INTERACTION,
                    {
                        "channel": f"c{n % 3}",
                        "queue": f"q{n:03d}",
                        "short_description": "" if n % 2 == 0 else f"odd {n}",
                    },
                    caller,
                )
                for n in range(count)
            ]

    return make


def records(response):
    return [dict(result) for name, result in answer(response)]


def queues(response):
    return [record["queue"] for record in records(response)]


def test_get_records_matches_columns_and_the_encoded_query(soap, client, admin_auth, many):
    ids = many(9)
    response = soap("getRecords", [("channel", "c1"), ("__order_by", "queue")])
    assert queues(response) == ["q001", "q004", "q007"]
    # Every result in full, as the Table API reads it.
    expected = "".join(
        f"<getRecordsResult>{elements(table_record(client, admin_auth, ids[n]))}</getRecordsResult>" for n in (1, 4, 7)
    )
    assert_xml(response, response_xml("getRecords", expected))

    assert queues(soap("getRecords", [("channel", "c1"), ("__encoded_query", "queue!=q004^ORDERBYqueue")])) == [
        "q001",
        "q007",
    ]
    assert queues(soap("getRecords", [("short_description", ""), ("__encoded_query", "ORDERBYDESCqueue")])) == [
        "q008", "q006", "q004", "q002", "q000"
    ]  # fmt: skip
    assert queues(soap("getRecords", [("__encoded_query", "queueINq003,q005^ORqueue=q000^ORDERBYqueue")])) == [
        "q000",
        "q003",
        "q005",
    ]


def test_get_records_orders_by_order_by_then_desc_then_orderby_terms(soap, many):
    many(6)
    response = soap(
        "getRecords", [("__order_by", "channel"), ("__order_by_desc", "queue"), ("__encoded_query", "ORDERBYnumber")]
    )
    assert queues(response) == ["q003", "q000", "q004", "q001", "q005", "q002"]


def test_get_records_windows(soap, many):
    many(10)
    order = [("__order_by", "queue")]
    assert queues(soap("getRecords", [*order, ("__first_row", "2"), ("__last_row", "5")])) == ["q002", "q003", "q004"]
    assert queues(soap("getRecords", [*order, ("__first_row", "8"), ("__limit", "5")])) == ["q008", "q009"]
    assert queues(soap("getRecords", [*order, ("__limit", "2")])) == ["q000", "q001"]
    assert queues(soap("getRecords", [*order, ("__first_row", "3"), ("__last_row", "9"), ("__limit", "2")])) == [
        "q003",
        "q004",
    ]
    assert queues(soap("getRecords", [*order, ("__first_row", "5"), ("__last_row", "2")])) == []
    assert queues(soap("getRecords", [*order, ("__first_row", "99999999999999999999999")])) == []


def test_get_records_without_a_window_stops_at_250_and_get_keys_does_not(soap, many):
    ids = many(260)
    assert len(records(soap("getRecords"))) == 250
    assert len(records(soap("getRecords", [("__limit", "300")]))) == 260
    assert len(records(soap("getRecords", [("__last_row", "255")]))) == 255
    keys = dict(answer(soap("getKeys")))
    assert keys["sys_id"].split(",") == sorted(ids)
    assert keys["count"] == "260"


def test_get_records_matching_nothing_is_an_empty_response(soap, many):
    many(2)
    assert_xml(soap("getRecords", [("channel", "nothing")]), response_xml("getRecords", ""))


def test_get_records_with_display_values_and_excluded_columns(soap, many, agent):
    many(1)
    (record,) = records(soap("getRecords", [("__exclude_columns", "queue,channel")], "SOAP&displayvalue=all"))
    assert (record["opened_by"], record["dv_opened_by"], record["dv_assigned_to"]) == (ADMIN_SYS_ID, "admin", "")
    assert "queue" not in record and "channel" not in record
    (record,) = records(soap("getRecords", query="SOAP&displayvalue=true"))
    assert (record["opened_by"], record["state"]) == ("admin", "queued")
    assert "dv_opened_by" not in record


def test_get_keys_joins_the_keys_of_the_query_and_window(soap, many):
    ids = many(6)
    response = soap("getKeys", [("channel", "c0"), ("__order_by_desc", "queue")])
    assert_xml(response, response_xml("getKeys", f"<sys_id>{ids[3]},{ids[0]}</sys_id><count>2</count>"))
    response = soap("getKeys", [("__order_by", "queue"), ("__first_row", "1"), ("__limit", "2")])
    assert dict(answer(response)) == {"sys_id": f"{ids[1]},{ids[2]}", "count": "2"}
    assert_xml(soap("getKeys", [("channel", "none")]), response_xml("getKeys", "<sys_id/><count>0</count>"))


def test_get_keys_and_records_read_a_page_of_the_records_layer_at_a_time(soap, many, monkeypatch):
    # _find reads store.MAX_LIMIT (10,000) records at a time: made 10 here,
    # so that 25 records take three pages.
    monkeypatch.setattr(operations, "MAX_LIMIT", 10)
    ids = many(25)

    def keys(*children):
        found = dict(answer(soap("getKeys", [("__order_by", "queue"), *children])))
        assert found["count"] == str(len(found["sys_id"].split(",")))
        return found["sys_id"].split(",")

    assert keys() == ids
    assert keys(("__first_row", "1")) == ids[1:]
    assert keys(("__limit", "11")) == ids[:11]
    assert keys(("__first_row", "3"), ("__last_row", "24")) == ids[3:24]
    # The caller's own records, on every page.
    assert keys(("__encoded_query", "opened_by=javascript:gs.getUserID()")) == ids
    assert queues(soap("getRecords", [("__order_by", "queue"), ("__limit", "21")])) == [f"q{n:03d}" for n in range(21)]


def test_a_condition_on_a_reference_takes_a_sys_id(soap, many):
    many(2)
    assert dict(answer(soap("getKeys", [("opened_by", ADMIN_SYS_ID)])))["count"] == "2"
    assert dict(answer(soap("getKeys", [("opened_by", "admin")])))["count"] == "0"


def test_an_empty_column_matches_the_records_where_it_is_empty(soap, many):
    ids = many(2)
    inserted(soap, state="closed_complete")
    response = soap("getKeys", [("closed_at", ""), ("__order_by", "queue")])
    assert_xml(response, response_xml("getKeys", f"<sys_id>{ids[0]},{ids[1]}</sys_id><count>2</count>"))


@pytest.mark.parametrize(
    "children, string",
    [
        ([("__limit", "-1")], "Invalid value for __limit: '-1' is not a non-negative integer"),
        ([("__first_row", "one")], "Invalid value for __first_row: 'one' is not a non-negative integer"),
        ([("__last_row", "2.5")], "Invalid value for __last_row: '2.5' is not a non-negative integer"),
        (
            [("__encoded_query", "nonsense")],
            "Invalid condition 'nonsense' in the encoded query: expected <field><operator><value>",
        ),
        (
            [("__encoded_query", "opened_at>javascript:alert(1)")],
            "Unsupported script in the encoded query: 'javascript:alert(1)'",
        ),
        ([("sys_mod_count", "many")], "'many' is not an integer"),
    ],
)
@pytest.mark.parametrize("operation", ["getRecords", "getKeys"])
def test_a_bad_query_or_window_is_a_client_fault(soap, operation, children, string):
    response = soap(operation, children)
    assert response.status_code == 500
    fault = dict(answer(response))
    assert fault["faultcode"] == "SOAP-ENV:Client"
    assert fault["faultstring"] == string


# update


def test_update_changes_the_columns_given(soap, client, admin_auth, agent):
    sys_id = inserted(soap, channel=CHANNEL, short_description="before")
    response = soap(
        "update", [("sys_id", sys_id), ("queue", QUEUE), ("assigned_to", "agent.smith"), ("short_description", "")]
    )
    assert_xml(response, response_xml("update", f"<sys_id>{sys_id}</sys_id>"))
    record = table_record(client, admin_auth, sys_id)
    assert (record["queue"], record["state"], record["assigned_to"]) == (QUEUE, "queued", AGENT_SYS_ID)
    assert (record["short_description"], record["channel"], record["sys_mod_count"]) == ("", CHANNEL, "1")


def test_update_to_a_closed_state_closes_and_back_reopens(soap, client, admin_auth):
    sys_id = inserted(soap, channel=CHANNEL)
    soap("update", [("sys_id", sys_id), ("state", "closed_complete")])
    record = table_record(client, admin_auth, sys_id)
    assert (record["closed_by"], bool(record["closed_at"])) == (ADMIN_SYS_ID, True)
    soap("update", [("sys_id", sys_id), ("state", "work_in_progress")])
    record = table_record(client, admin_auth, sys_id)
    assert (record["state"], record["closed_by"], record["closed_at"]) == ("work_in_progress", "", "")


@pytest.mark.parametrize("children", [[("sys_id", "0" * 32)], [], [("sys_id", "")], [("sys_id", "x" * 40)]])
def test_update_of_no_record_is_a_server_fault(soap, children):
    assert_fault(soap("update", [*children, ("queue", QUEUE)]), "Server", ABORTED.format("Update", "missing record"))


def test_update_without_a_sys_id_is_refused_before_its_values_are_checked(soap):
    assert_fault(soap("update", [("context_table", "Not A Table")]), "Server", ABORTED.format("Update", "missing record"))


def test_update_breaking_the_rules_is_a_server_fault(soap):
    sys_id = inserted(soap, channel=CHANNEL)
    assert_fault(
        soap("update", [("sys_id", sys_id), ("context_table", "Not A Table")]),
        "Server",
        ABORTED.format("Update", "context_table: Must be a table name: up to 80 of a-z, 0-9 and _."),
    )


# deleteRecord and deleteMultiple


def test_delete_record_counts_what_it_deleted(soap, client, admin_auth):
    sys_id = inserted(soap, channel=CHANNEL)
    assert_xml(soap("deleteRecord", [("sys_id", sys_id)]), response_xml("deleteRecord", "<count>1</count>"))
    assert_xml(soap("deleteRecord", [("sys_id", sys_id)]), response_xml("deleteRecord", "<count>0</count>"))
    assert client.get(f"/api/now/table/interaction/{sys_id}", headers=admin_auth).status_code == 404


def test_delete_multiple_deletes_what_the_columns_match(soap, many):
    many(6)
    assert_xml(soap("deleteMultiple", [("channel", "c1")]), response_xml("deleteMultiple", "<count>2</count>"))
    assert_xml(soap("deleteMultiple", [("channel", "c1")]), response_xml("deleteMultiple", "<count>0</count>"))
    assert dict(answer(soap("deleteMultiple", [("short_description", "")])))["count"] == "2"
    assert dict(answer(soap("getKeys")))["count"] == "2"


def test_delete_multiple_counts_every_batch(app, soap):
    """The interactions go 500 at a time; the count is of them all."""
    with app.app_context():
        Interaction.insert_many([{"sys_id": f"{n:032x}", "number": f"X{n}", "state": "new", "channel": "c1"} for n in range(501)]).execute()
    assert_xml(soap("deleteMultiple", [("channel", "c1")]), response_xml("deleteMultiple", "<count>501</count>"))
    assert dict(answer(soap("getKeys")))["count"] == "0"


@pytest.mark.parametrize("children", [[], [("__encoded_query", "channel=c1")], [("colour", "red")]])
def test_delete_multiple_without_a_column_is_refused(soap, many, children):
    many(3)
    assert_fault(
        soap("deleteMultiple", children),
        "Client",
        "deleteMultiple needs at least one column to match: it never deletes the whole table",
    )
    assert dict(answer(soap("getKeys")))["count"] == "3"


# dispatch and faults


def test_an_unknown_operation_is_a_client_fault(soap):
    assert_fault(soap("getEverything"), "Client", "Unsupported action: getEverything")


@pytest.mark.parametrize(
    "namespace",
    [
        "http://www.service-now.com/interaction",
        "http://www.service-now.com",
        "http://www.service-now.com/",
        "http://www.glidesoft.com/",
        "urn:anything",
        None,
    ],
)
def test_the_operation_is_found_by_local_name_in_any_namespace(client, admin_auth, namespace):
    response = post(client, admin_auth, envelope("insert", [("channel", CHANNEL)], namespace))
    assert response.status_code == 200
    assert dict(answer(response))["number"] == "IMS0000001"


def test_a_fault_of_the_service_is_a_server_fault_with_the_transaction_id(soap, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("secret internals")

    monkeypatch.setattr(store, "get", broken)
    response = soap("get", [("sys_id", "0" * 32)])
    transaction_id = response.headers["X-Transaction-ID"]
    assert_xml(response, fault_xml("Server", "Internal server error", f"transaction {transaction_id}"), 500)
    assert b"secret" not in response.data and b"Traceback" not in response.data
    assert "secret internals" in caplog.text


def test_get_and_delete_record_without_a_sys_id_find_nothing(soap, many):
    many(2)
    assert_xml(soap("get"), response_xml("get", ""))
    assert_xml(soap("deleteRecord"), response_xml("deleteRecord", "<count>0</count>"))
    assert dict(answer(soap("getKeys")))["count"] == "2"


def test_delete_multiple_matches_a_column_for_the_caller(soap, many, agent, client):
    many(2)
    agents_own = post(client, basic("agent.smith", "agent-secret"), envelope("insert", [("channel", "c9")]))
    assert agents_own.status_code == 200, agents_own.data
    mine = [("opened_by", "javascript:gs.getUserID()")]
    assert_xml(soap("deleteMultiple", mine), response_xml("deleteMultiple", "<count>2</count>"))
    assert [dict(record)["channel"] for record in records(soap("getRecords"))] == ["c9"]


def test_delete_multiple_with_a_value_its_column_cannot_hold_is_a_client_fault(soap, many):
    many(2)
    response = soap("deleteMultiple", [("sys_mod_count", "many")])
    assert_fault(response, "Client", "'many' is not an integer")
    assert dict(answer(soap("getKeys")))["count"] == "2"


def test_a_fault_is_written_in_utf_8(soap):
    response = soap("cafébar")
    assert response.status_code == 500
    assert response.data == b'<?xml version="1.0" encoding="UTF-8"?>\n' + fault_xml("Client", "Unsupported action: cafébar").encode()


def test_a_response_is_written_in_utf_8(soap):
    sys_id = inserted(soap, short_description="café ☕")
    others = ",".join(field.name for field in fields.INTERACTION.fields if field.name != "short_description")
    response = soap("get", [("sys_id", sys_id), ("__exclude_columns", others)])
    assert response.status_code == 200
    assert response.data == b'<?xml version="1.0" encoding="UTF-8"?>\n' + response_xml(
        "get", "<short_description>café ☕</short_description>"
    ).encode()


def test_delete_multiple_deletes_the_interactions_documents_too(soap, client, admin_auth):
    created = client.post("/api/now/interaction", json={"channel": "c7", "queue": QUEUE}, headers=admin_auth).json["result"]
    documents = [
        f"/api/now/table/{created['contextTable']}/{created['contextDocument']}",
        f"/api/now/table/{created['channelMetadataTable']}/{created['channelMetadataDocument']}",
    ]
    assert [client.get(path, headers=admin_auth).status_code for path in documents] == [200, 200]
    assert_xml(soap("deleteMultiple", [("channel", "c7")]), response_xml("deleteMultiple", "<count>1</count>"))
    assert [client.get(path, headers=admin_auth).status_code for path in documents] == [404, 404]

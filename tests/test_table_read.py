"""Reading through the Table API (TABLE_API.md §1-4): routes, values,
parameters, headers and errors, in JSON and XML."""
from datetime import datetime

import pytest
from conftest import ADMIN_PASSWORD, CHANNEL, QUEUE, basic, failure
from lxml import etree

from app.db import database
from app.models import ADMIN_SYS_ID, Interaction, SysTableCount, SysUser
from app.records.catalog import BUILT_MODELS
from app.records.counts import COUNTED

BASE = "http://localhost"
ADMIN_LINK = f"{BASE}/api/now/table/sys_user/{ADMIN_SYS_ID}"
INTERACTION_FIELDS = [
    "sys_id",
    "number",
    "state",
    "channel",
    "queue",
    "short_description",
    "opened_by",
    "opened_for",
    "assigned_to",
    "closed_by",
    "opened_at",
    "closed_at",
    "context_table",
    "context_document",
    "channel_metadata_table",
    "channel_metadata_document",
    "sys_created_on",
    "sys_created_by",
    "sys_updated_on",
    "sys_updated_by",
    "sys_mod_count",
]
NOT_FOUND_IN_LIST = failure("No Record found", "Records matching query not found. Check query parameter or offset parameter")


class Table:
    """The Table API through the test client, as `admin`."""

    def __init__(self, client, headers):
        self.client = client
        self.headers = headers

    def get(self, path, headers=None, **kwargs):
        return self.client.get(path, headers={**self.headers, **(headers or {})}, **kwargs)

    def records(self, path="/api/now/table/interaction", **params):
        response = self.get(path, query_string=params)
        assert response.status_code == 200, response.data
        return response.json["result"]


@pytest.fixture
def table(client, admin_auth):
    return Table(client, admin_auth)


@pytest.fixture
def three(api):
    """Three interactions made through the Interaction API, oldest first."""
    return [api.created(queue=QUEUE), api.created(), api.created(queue=QUEUE)]


def stored(app, sys_id):
    with app.app_context():
        return Interaction.get_by_id(sys_id)


def as_text(moment):
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def test_one_interaction_reads_as_servicenow_writes_it(app, api, table):
    created = api.created(queue=QUEUE, context={"a": 1})
    response = table.get(f"/api/now/table/interaction/{created['sys_id']}")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json;charset=UTF-8"
    record = response.json["result"]
    assert list(record) == INTERACTION_FIELDS
    row = stored(app, created["sys_id"])
    assert record == {
        "sys_id": created["sys_id"],
        "number": "IMS0000001",
        "state": "queued",
        "channel": CHANNEL,
        "queue": QUEUE,
        "short_description": "",
        "opened_by": {"link": ADMIN_LINK, "value": ADMIN_SYS_ID},
        "opened_for": "",
        "assigned_to": "",
        "closed_by": "",
        "opened_at": as_text(row.opened_at),
        "closed_at": "",
        "context_table": "interaction_json_blob",
        "context_document": created["contextDocument"],
        "channel_metadata_table": "live_group_profile",
        "channel_metadata_document": created["channelMetadataDocument"],
        "sys_created_on": as_text(row.sys_created_on),
        "sys_created_by": "admin",
        "sys_updated_on": as_text(row.sys_updated_on),
        "sys_updated_by": "admin",
        "sys_mod_count": "0",
    }


def test_a_closed_interaction_shows_who_closed_it_and_when(app, api, table):
    created = api.created()
    api.close(created["sys_id"])
    record = table.get(f"/api/now/table/interaction/{created['sys_id']}").json["result"]
    row = stored(app, created["sys_id"])
    assert (record["state"], record["closed_by"], record["closed_at"], record["sys_mod_count"]) == (
        "closed_complete",
        {"link": ADMIN_LINK, "value": ADMIN_SYS_ID},
        as_text(row.closed_at),
        "1",
    )


@pytest.mark.parametrize("prefix", ["/api/now/table", "/api/now/v1/table", "/api/now/v2/table"])
def test_every_version_reads_alike(api, table, prefix):
    created = api.created()
    one = table.get(f"{prefix}/interaction/{created['sys_id']}/")
    listed = table.get(f"{prefix}/interaction")
    assert one.status_code == listed.status_code == 200
    assert listed.json["result"] == [one.json["result"]]


def test_a_v1_list_that_matches_nothing_is_a_404_and_v2_an_empty_list(table):
    v1 = table.get("/api/now/v1/table/interaction")
    assert (v1.status_code, v1.json) == (404, NOT_FOUND_IN_LIST)
    for path in ("/api/now/v2/table/interaction", "/api/now/table/interaction"):
        response = table.get(path)
        assert (response.status_code, response.json, response.headers["X-Total-Count"]) == (200, {"result": []}, "0")
        assert "Link" not in response.headers


def test_the_documents_and_users_read_too(api, table):
    created = api.created(context={"customer": 42}, channel_metadata={"x": "y"})
    context = table.get(f"/api/now/table/interaction_json_blob/{created['contextDocument']}").json["result"]
    metadata = table.records("/api/now/table/live_group_profile")
    assert (context["sys_id"], context["value"]) == (created["contextDocument"], '{"customer":42}')
    assert list(context) == ["sys_id", "value", "sys_created_on", "sys_created_by", "sys_updated_on", "sys_updated_by", "sys_mod_count"]
    assert [record["value"] for record in metadata] == ['{"x":"y"}']

    users = table.records("/api/now/table/sys_user")
    assert [list(user) for user in users] == [
        ["sys_id", "user_name", "first_name", "last_name", "name", "email", "phone", "mobile_phone", "title", "active",
         "sys_created_on", "sys_created_by", "sys_updated_on", "sys_updated_by", "sys_mod_count"]
    ]  # fmt: skip
    assert (users[0]["sys_id"], users[0]["user_name"], users[0]["active"]) == (ADMIN_SYS_ID, "admin", "true")


def test_no_password_hash_is_ever_shown(table):
    for params in ({}, {"sysparm_fields": "password_hash,user_name"}, {"sysparm_display_value": "all"}):
        response = table.get("/api/now/table/sys_user", query_string=params)
        assert b"password" not in response.data and b"pbkdf2" not in response.data
    response = table.get("/api/now/table/sys_user", query_string={"sysparm_query": "password_hashSTARTSWITHpbkdf2"})
    # A condition on a field the table does not show is dropped, so it tells nothing.
    assert len(response.json["result"]) == 1


@pytest.mark.parametrize("name", ["u_nothing", "sys_number_counter", "stand_in_table", "Interaction", "interaction.do"])
def test_any_other_table_is_invalid(table, name):
    response = table.get(f"/api/now/table/{name}")
    assert (response.status_code, response.json) == (400, failure(f"Invalid table {name}"))
    response = table.get(f"/api/now/table/{name}/{'0' * 32}")
    assert (response.status_code, response.json) == (400, failure(f"Invalid table {name}"))


@pytest.mark.parametrize("sys_id", ["0" * 32, "x" * 33, "x" * 500, "a\x00b", "%00"])
def test_an_unknown_sys_id_is_a_404(api, table, sys_id):
    api.created()
    response = table.get(f"/api/now/table/interaction/{sys_id}")
    assert (response.status_code, response.json) == (
        404,
        failure("No Record found", "Record doesn't exist or ACL restricts the record retrieval"),
    )


def test_display_values(api, table):
    created = api.created(queue=QUEUE)
    path = f"/api/now/table/interaction/{created['sys_id']}"
    fields = {"sysparm_fields": "state,opened_by,assigned_to,sys_mod_count,closed_at"}

    shown = table.get(path, query_string={**fields, "sysparm_display_value": "true"}).json["result"]
    assert shown == {
        "state": "Queued",
        "opened_by": {"display_value": "admin", "link": ADMIN_LINK},
        "assigned_to": "",
        "sys_mod_count": "0",
        "closed_at": "",
    }
    both = table.get(path, query_string={**fields, "sysparm_display_value": "ALL"}).json["result"]
    assert both == {
        "state": {"display_value": "Queued", "value": "queued"},
        "opened_by": {"display_value": "admin", "link": ADMIN_LINK, "value": ADMIN_SYS_ID},
        "assigned_to": {"display_value": "", "value": ""},
        "sys_mod_count": {"display_value": "0", "value": "0"},
        "closed_at": {"display_value": "", "value": ""},
    }
    plain = table.get(path, query_string={**fields, "sysparm_display_value": "False"}).json["result"]
    assert plain == {"state": "queued", "opened_by": {"link": ADMIN_LINK, "value": ADMIN_SYS_ID}, "assigned_to": "", "sys_mod_count": "0", "closed_at": ""}
    # Any other value reads values, as false does.
    for other in ("bogus", ""):
        assert table.get(path, query_string={**fields, "sysparm_display_value": other}).json["result"] == plain, other


def test_excluded_links_leave_references_as_strings(api, table):
    created = api.created()
    path = f"/api/now/table/interaction/{created['sys_id']}"
    base = {"sysparm_fields": "opened_by", "sysparm_exclude_reference_link": "TRUE"}
    assert table.get(path, query_string=base).json["result"] == {"opened_by": ADMIN_SYS_ID}
    assert table.get(path, query_string={**base, "sysparm_display_value": "true"}).json["result"] == {"opened_by": "admin"}
    assert table.get(path, query_string={**base, "sysparm_display_value": "all"}).json["result"] == {
        "opened_by": {"display_value": "admin", "value": ADMIN_SYS_ID}
    }


def test_an_unknown_state_displays_as_itself(app, api, table):
    created = api.created()
    with app.app_context():
        Interaction.update(state="escalated").execute()
    path = f"/api/now/table/interaction/{created['sys_id']}"
    record = table.get(path, query_string={"sysparm_display_value": "true", "sysparm_fields": "state"})
    assert record.json["result"] == {"state": "escalated"}
    both = table.get(path, query_string={"sysparm_display_value": "all", "sysparm_fields": "state"})
    assert both.json["result"] == {"state": {"display_value": "escalated", "value": "escalated"}}


def test_a_reference_to_a_user_that_is_gone_displays_empty(app, api, table):
    created = api.created()
    gone = "9" * 32
    with app.app_context():
        Interaction.update(assigned_to=gone).execute()
    path = f"/api/now/table/interaction/{created['sys_id']}"
    query = {"sysparm_fields": "assigned_to", "sysparm_display_value": "all"}
    assert table.get(path, query_string=query).json["result"] == {
        "assigned_to": {"display_value": "", "link": f"{BASE}/api/now/table/sys_user/{gone}", "value": gone}
    }


def test_links_follow_the_host_and_scheme_the_request_came_to(api, table):
    created = api.created()
    response = table.get(
        f"/api/now/table/interaction/{created['sys_id']}",
        query_string={"sysparm_fields": "opened_by"},
        base_url="https://stand-in.example:8443",
    )
    assert response.json["result"] == {
        "opened_by": {"link": f"https://stand-in.example:8443/api/now/table/sys_user/{ADMIN_SYS_ID}", "value": ADMIN_SYS_ID}
    }


def test_fields_pick_and_order_what_is_returned(api, table):
    created = api.created()
    record = table.get(
        f"/api/now/table/interaction/{created['sys_id']}",
        query_string={"sysparm_fields": " state , number,nope,state,opened_by.user_name,opened_for.user_name,queue.user_name"},
    ).json["result"]
    assert record == {"state": "new", "number": "IMS0000001", "opened_by.user_name": "admin", "opened_for.user_name": ""}
    both = table.get(
        f"/api/now/table/interaction/{created['sys_id']}",
        query_string={"sysparm_fields": "opened_by.user_name,opened_by.active", "sysparm_display_value": "all"},
    ).json["result"]
    assert both == {
        "opened_by.user_name": {"display_value": "admin", "value": "admin"},
        "opened_by.active": {"display_value": "true", "value": "true"},
    }


def test_booleans_read_true_false_or_empty(app, api, table):
    created = api.created()
    with app.app_context():
        SysUser.create(sys_id="b" * 32, user_name="bob", password_hash="-", active=False)
    users = table.records("/api/now/table/sys_user", sysparm_fields="user_name,active", sysparm_query="ORDERBYuser_name")
    assert users == [{"user_name": "admin", "active": "true"}, {"user_name": "bob", "active": "false"}]
    # Through an empty reference there is no user, so no value either.
    record = table.get(f"/api/now/table/interaction/{created['sys_id']}", query_string={"sysparm_fields": "opened_by.active,opened_for.active"})
    assert record.json["result"] == {"opened_by.active": "true", "opened_for.active": ""}


def test_integers_read_in_decimal_or_empty(app, api, table):
    created = api.created()
    with app.app_context():
        Interaction.update(sys_mod_count=12).execute()
    record = table.get(
        f"/api/now/table/interaction/{created['sys_id']}",
        query_string={"sysparm_fields": "sys_mod_count,opened_by.sys_mod_count,opened_for.sys_mod_count"},
    )
    # Through an empty reference there is no user, so no value either.
    assert record.json["result"] == {"sys_mod_count": "12", "opened_by.sys_mod_count": "0", "opened_for.sys_mod_count": ""}


def test_a_date_time_stored_with_a_fraction_of_a_second_reads_to_the_second(app, api, table):
    created = api.created()
    with app.app_context():
        # Another writer, straight into the database.
        Interaction.update(opened_at=datetime(2026, 1, 2, 3, 4, 5, 678901)).execute()
    record = table.get(f"/api/now/table/interaction/{created['sys_id']}", query_string={"sysparm_fields": "opened_at"})
    assert record.json["result"] == {"opened_at": "2026-01-02 03:04:05"}


def test_empty_parameters_mean_not_given(three, table):
    records = table.records(sysparm_fields="", sysparm_query="", sysparm_limit="", sysparm_offset="", sysparm_view="")
    assert len(records) == 3 and list(records[0]) == INTERACTION_FIELDS


def test_the_query_selects_and_orders(three, table):
    numbers = [r["number"] for r in table.records(sysparm_query=f"queue={QUEUE}^ORDERBYDESCnumber", sysparm_fields="number")]
    assert numbers == ["IMS0000003", "IMS0000001"]


def test_name_value_filters_apply_without_a_query(three, table):
    records = table.records(queue=QUEUE, state="queued", nope="x", sysparm_fields="number")
    assert sorted(r["number"] for r in records) == ["IMS0000001", "IMS0000003"]
    # With a query, the filters are not used.
    records = table.records(queue=QUEUE, sysparm_query="number=IMS0000002", sysparm_fields="number")
    assert records == [{"number": "IMS0000002"}]


def test_a_filter_given_twice_must_hold_both_times(three, table):
    response = table.get("/api/now/table/interaction", query_string=[("number", "IMS0000001"), ("number", "IMS0000002")])
    assert (response.status_code, response.json) == (200, {"result": []})


def test_without_orderby_records_come_by_sys_id(three, table):
    records = table.records(sysparm_fields="sys_id")
    assert [r["sys_id"] for r in records] == sorted(t["sys_id"] for t in three)


def test_paging_with_limit_and_offset_and_the_headers(three, table):
    response = table.get(
        "/api/now/table/interaction",
        query_string=[("sysparm_query", "ORDERBYnumber"), ("sysparm_fields", "number"), ("sysparm_limit", "1"), ("sysparm_offset", "1")],
    )
    assert response.json == {"result": [{"number": "IMS0000002"}]}
    assert response.headers["X-Total-Count"] == "3"
    url = f"{BASE}/api/now/table/interaction?sysparm_query=ORDERBYnumber&sysparm_fields=number&sysparm_limit=1&sysparm_offset="
    assert response.headers["Link"] == ",".join(
        [f'<{url}0>;rel="first"', f'<{url}0>;rel="prev"', f'<{url}2>;rel="next"', f'<{url}2>;rel="last"']
    )


def test_link_appends_limit_and_offset_when_absent(three, table):
    response = table.get("/api/now/table/interaction", query_string={"sysparm_fields": "number"})
    url = f"{BASE}/api/now/table/interaction?sysparm_fields=number&sysparm_limit=10000&sysparm_offset="
    assert response.headers["Link"] == f'<{url}0>;rel="first",<{url}0>;rel="last"'


def test_link_keeps_the_query_string_as_given(three, table):
    """Blank parameters stay; a limit given twice is set once, where it first stood."""
    response = table.get("/api/now/table/interaction?sysparm_limit=1&sysparm_query=&sysparm_limit=2&sysparm_fields=number")
    assert len(response.json["result"]) == 1
    url = f"{BASE}/api/now/table/interaction?sysparm_limit=1&sysparm_query=&sysparm_fields=number&sysparm_offset="
    assert response.headers["Link"] == f'<{url}0>;rel="first",<{url}1>;rel="next",<{url}2>;rel="last"'


@pytest.mark.parametrize(
    "total, limit, offset, rels",
    [
        (3, 2, 0, [("first", 0), ("next", 2), ("last", 2)]),
        (3, 2, 2, [("first", 0), ("prev", 0), ("last", 2)]),
        (3, 1, 2, [("first", 0), ("prev", 1), ("last", 2)]),
        (3, 3, 0, [("first", 0), ("last", 0)]),
        (3, 2, 5, [("first", 0), ("prev", 3), ("last", 2)]),
    ],
)
def test_link_relations(api, table, total, limit, offset, rels):
    for _ in range(total):
        api.created()
    response = table.get("/api/now/table/interaction", query_string={"sysparm_limit": limit, "sysparm_offset": offset})
    url = f"{BASE}/api/now/table/interaction?sysparm_limit={limit}&sysparm_offset="
    assert response.headers["Link"] == ",".join(f'<{url}{at}>;rel="{rel}"' for rel, at in rels)


def test_no_link_when_suppressed_or_nothing_to_page(three, table):
    for params in (
        {"sysparm_suppress_pagination_header": "True"},
        {"sysparm_limit": "0"},
        {"sysparm_query": "number=nothing"},
    ):
        response = table.get("/api/now/table/interaction", query_string=params)
        assert "Link" not in response.headers, params
    assert table.get("/api/now/table/interaction", query_string={"sysparm_limit": "0"}).json == {"result": []}


def test_no_count_means_no_count_header_and_no_link(three, table):
    response = table.get("/api/now/table/interaction", query_string={"sysparm_no_count": "true", "sysparm_limit": "1"})
    assert len(response.json["result"]) == 1
    assert "X-Total-Count" not in response.headers and "Link" not in response.headers


def test_the_limit_is_at_most_10000(three, table):
    response = table.get("/api/now/table/interaction", query_string={"sysparm_limit": "99999", "sysparm_fields": "number"})
    assert len(response.json["result"]) == 3
    assert "sysparm_limit=10000&" in response.headers["Link"]


@pytest.mark.parametrize("name", ["sysparm_limit", "sysparm_offset"])
@pytest.mark.parametrize("value", ["-1", "ten", "1.5", "١", " 1"])
def test_a_bad_limit_or_offset_is_a_400_naming_it(table, name, value):
    response = table.get("/api/now/table/interaction", query_string={name: value})
    assert (response.status_code, response.json) == (
        400,
        failure(f"Invalid value for {name}: {value!r} is not a non-negative integer"),
    )


def test_a_malformed_query_is_a_400_saying_so(table):
    response = table.get("/api/now/table/interaction", query_string={"sysparm_query": "opened_by=javascript:gs.getUser()"})
    assert (response.status_code, response.json) == (
        400,
        failure("Unsupported script in the encoded query: 'javascript:gs.getUser()'"),
    )


def test_list_parameters_on_a_read_by_sys_id_are_ignored(three, table):
    response = table.get(
        f"/api/now/table/interaction/{three[1]['sys_id']}",
        query_string={"sysparm_query": "number=nothing", "sysparm_limit": "x", "sysparm_offset": "y", "sysparm_fields": "number"},
    )
    assert (response.status_code, response.json) == (200, {"result": {"number": "IMS0000002"}})


def test_head_answers_as_get_without_a_body(three, table):
    listed = table.client.head("/api/now/table/interaction", headers=table.headers)
    one = table.client.head(f"/api/now/table/interaction/{three[0]['sys_id']}", headers=table.headers)
    assert (listed.status_code, listed.data, listed.headers["X-Total-Count"]) == (200, b"", "3")
    assert (one.status_code, one.data) == (200, b"")
    missing = table.client.head(f"/api/now/table/interaction/{'0' * 32}", headers=table.headers)
    assert (missing.status_code, missing.data) == (404, b"")


def test_xml_lists_one_result_element_per_record(three, table):
    response = table.get(
        "/api/now/table/interaction",
        headers={"Accept": "application/xml"},
        query_string={"sysparm_fields": "number,opened_by", "sysparm_query": "ORDERBYnumber", "sysparm_limit": "2"},
    )
    assert response.headers["Content-Type"] == "application/xml;charset=UTF-8"
    assert response.data == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<response>'
        + b"".join(
            f"<result><number>IMS000000{n}</number><opened_by><link>{ADMIN_LINK}</link>"
            f"<value>{ADMIN_SYS_ID}</value></opened_by></result>".encode()
            for n in (1, 2)
        )
        + b"</response>"
    )
    assert response.headers["X-Total-Count"] == "3"


def test_xml_of_one_record_and_of_nothing(three, table):
    one = table.get(
        f"/api/now/table/interaction/{three[1]['sys_id']}",
        headers={"Accept": "text/xml"},
        query_string={"sysparm_fields": "number,queue,state", "sysparm_display_value": "all"},
    )
    assert one.data == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<response><result>'
        b"<number><display_value>IMS0000002</display_value><value>IMS0000002</value></number>"
        b"<queue><display_value/><value/></queue>"
        b"<state><display_value>New</display_value><value>new</value></state>"
        b"</result></response>"
    )
    empty = table.get("/api/now/table/interaction", headers={"Accept": "application/xml"}, query_string={"sysparm_query": "number=x"})
    assert etree.fromstring(empty.data).tag == "response" and len(etree.fromstring(empty.data)) == 0


def test_xml_errors(table):
    response = table.get("/api/now/table/nope", headers={"Accept": "application/xml"})
    assert response.status_code == 400
    assert response.data == (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<response><error><message>Invalid table nope</message>'
        b"<detail/></error><status>failure</status></response>"
    )


def test_reading_needs_credentials(client, three):
    for headers in ({}, basic("admin", "wrong"), basic("nobody", ADMIN_PASSWORD)):
        response = client.get("/api/now/table/interaction", headers=headers)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == 'BASIC realm="Service-now"'
        assert response.json == failure("User Not Authenticated", "Required to provide Auth information")


def test_an_inactive_user_is_refused(app, client, three):
    with app.app_context():
        SysUser.update(active=False).execute()
    assert client.get("/api/now/table/interaction", headers=basic("admin", ADMIN_PASSWORD)).status_code == 401


def test_an_unacceptable_format_is_a_406_before_authentication(client):
    response = client.get("/api/now/table/interaction", headers={"Accept": "text/html"})
    assert (response.status_code, response.json["error"]["message"]) == (406, "Requested response format is not supported")


def test_standard_headers_on_every_answer(three, table):
    for path in ("/api/now/table/interaction", "/api/now/table/nope", f"/api/now/table/interaction/{'0' * 32}"):
        response = table.get(path)
        assert response.headers["Cache-Control"] == "no-cache,no-store,must-revalidate,max-age=-1"
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert len(response.headers["X-Transaction-ID"]) == 16


def test_other_methods_are_a_405(table, three):
    response = table.client.put("/api/now/table/interaction", headers=table.headers)
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "POST"}
    assert response.json == failure("Method not Supported", "PUT method not supported for API")
    response = table.client.post(f"/api/now/table/interaction/{three[0]['sys_id']}", headers=table.headers)
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "PUT", "PATCH", "DELETE"}
    response = table.client.options("/api/now/table/interaction", headers=table.headers)
    assert response.status_code == 405


def test_a_post_may_ask_for_a_get(three, table):
    response = table.client.post(
        "/api/now/table/interaction",
        headers={**table.headers, "X-HTTP-Method-Override": "get"},
        query_string={"sysparm_fields": "number", "sysparm_query": "ORDERBYnumber"},
    )
    assert (response.status_code, response.json["result"][0]) == (200, {"number": "IMS0000001"})


def total(table, path="/api/now/table/interaction", **params):
    response = table.get(path, query_string={"sysparm_limit": "1", **params})
    return int(response.headers["X-Total-Count"])


def test_the_total_of_a_whole_table_is_kept_by_the_database(app, api, table):
    made = [api.created() for _ in range(4)]
    table.client.delete(f"/api/now/table/interaction/{made[0]['sys_id']}", headers=table.headers)
    table.client.post("/api/now/table/interaction", json={}, headers=table.headers)
    with app.app_context():
        # Another writer, in bulk, straight into the database.
        Interaction.insert_many([{"sys_id": f"{n:032x}", "number": f"X{n}", "state": "new", "channel": ""} for n in range(5)]).execute()
        Interaction.delete().where(Interaction.number == "X0").execute()
        stored = Interaction.select().count()
    assert stored == 3 + 1 + 4
    assert total(table) == stored
    assert total(table, sysparm_query="ORDERBYsys_id") == stored
    assert total(table, sysparm_query="numberSTARTSWITHX") == 4
    assert total(table, "/api/now/table/interaction_json_blob") == 3
    assert total(table, "/api/now/table/sys_user") == 1
    with app.app_context():
        assert kept_counts() == stored_counts()


def kept_counts():
    return dict(SysTableCount.select(SysTableCount.name, SysTableCount.count).tuples())


def stored_counts():
    return {model._meta.table_name: model.select().count() for model in (*COUNTED, *BUILT_MODELS)}


COUNTED_TABLES = [model._meta.table_name for model in COUNTED]


# The second case is a database made when only interactions were counted.
@pytest.mark.parametrize("uncounted", [COUNTED_TABLES, COUNTED_TABLES[1:]], ids=["none", "all-but-interactions"])
def test_an_existing_database_is_counted_on_start(make_app, admin_auth, uncounted):
    app = make_app()
    client = app.test_client()
    for _ in range(3):
        client.post("/api/now/interaction", json={"channel": CHANNEL}, headers=admin_auth)
    with app.app_context():
        for name in uncounted:
            for event in ("insert", "delete", "truncate"):
                database.execute_sql(f'DROP TRIGGER IF EXISTS "{name}_count_{event}"' + (f' ON "{name}"' if database.for_update else ""))
            SysTableCount.delete().where(SysTableCount.name == name).execute()
        Interaction.delete().where(Interaction.number == "IMS0000002").execute()
    database.close_all()
    restarted_app = make_app()
    restarted = Table(restarted_app.test_client(), admin_auth)
    assert total(restarted) == 2
    restarted.client.post("/api/now/interaction", json={"channel": CHANNEL}, headers=admin_auth)
    assert total(restarted) == 3
    with restarted_app.app_context():
        assert kept_counts() == stored_counts()


@pytest.mark.parametrize(
    "params, status, message",
    [
        ({"sysparm_offset": "9" * 30}, 200, None),
        ({"sysparm_limit": "9" * 30}, 200, None),
        ({"sysparm_query": "sys_mod_count>" + "9" * 30}, 400, f"'{'9' * 30}' is out of range"),
        ({"sysparm_query": "number=a\x00b"}, 400, "A value in the encoded query must not contain a NUL character"),
        ({"sysparm_query": "numberLIKE\x00"}, 400, "A value in the encoded query must not contain a NUL character"),
        ({"number": "\x00"}, 400, "A value in the encoded query must not contain a NUL character"),
        ({"sysparm_query": "^".join(["state=new"] * 501)}, 400, "The encoded query has more than 500 terms"),
        ({"sysparm_fields": "," * 5000 + "number"}, 200, None),
    ],
)
def test_hostile_parameters_get_a_clear_answer(three, table, params, status, message):
    response = table.get("/api/now/table/interaction", query_string=params)
    assert response.status_code == status
    if message:
        assert response.json == failure(message)


def test_bytes_that_are_not_utf8_in_the_query_string_match_nothing(three, table):
    response = table.get("/api/now/table/interaction?sysparm_query=number%3D%FF")
    assert (response.status_code, response.json) == (200, {"result": []})

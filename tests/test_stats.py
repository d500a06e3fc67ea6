"""The Aggregate API (MORE_APIS.md §3): counts and aggregates, grouped,
filtered by HAVING, ordered, in JSON and XML, on both databases."""
import logging

import pytest
from conftest import basic, failure
from lxml import etree

from app.models import ADMIN_SYS_ID

STATS = "/api/now/stats/interaction"
TABLE = "/api/now/table/interaction"


@pytest.fixture
def made(app, client, admin_auth, runner):
    """Six interactions: states new x3, queued x2, on_hold x1; the first
    two updated twice, the third once; the last assigned to bob."""
    assert runner.invoke(args=["user", "add", "bob", "--password", "bob-secret"]).exit_code == 0
    states = ["new", "new", "new", "queued", "queued", "on_hold"]
    made = []
    for n, state in enumerate(states):
        record = client.post(TABLE, json={"state": state, "short_description": f"d{n % 2}"}, headers=admin_auth).json["result"]
        made.append(record["sys_id"])
    for sys_id, times in zip(made, (2, 2, 1)):
        for n in range(times):
            client.patch(f"{TABLE}/{sys_id}", json={"channel": f"c{n}"}, headers=admin_auth)
    client.patch(f"{TABLE}/{made[5]}", json={"assigned_to": "bob"}, headers=admin_auth)
    return made


def stats(client, headers, **params):
    response = client.get(STATS, query_string=params, headers=headers)
    assert response.status_code == 200, response.data
    return response.json["result"]


def test_count_alone_and_with_a_query(client, admin_auth, made):
    assert stats(client, admin_auth, sysparm_count="true") == {"stats": {"count": "6"}}
    assert stats(client, admin_auth, sysparm_count="True", sysparm_query="state=new^ORstate=on_hold") == {"stats": {"count": "4"}}
    assert stats(client, admin_auth, sysparm_count="true", state="queued") == {"stats": {"count": "2"}}
    assert stats(client, admin_auth, sysparm_count="true", sysparm_query="nosuchfield=1^state=queued") == {"stats": {"count": "2"}}
    assert stats(client, admin_auth, sysparm_count="false") == {"stats": {}}


def test_avg_min_max_sum_of_a_numeric_field(client, admin_auth, made):
    # sys_mod_count: 2, 2, 1, 0, 0, 1 (the last's assignment)
    fields = "sys_mod_count,nosuchfield"
    assert stats(
        client, admin_auth, sysparm_count="true", sysparm_avg_fields=fields, sysparm_min_fields=fields, sysparm_max_fields=fields, sysparm_sum_fields=fields
    ) == {"stats": {"count": "6", "avg": {"sys_mod_count": "1.0000"}, "min": {"sys_mod_count": "0"}, "max": {"sys_mod_count": "2"}, "sum": {"sys_mod_count": "6"}}}
    assert stats(client, admin_auth, sysparm_avg_fields="sys_mod_count", sysparm_query="state=new^sys_mod_count>0") == {"stats": {"avg": {"sys_mod_count": "1.6667"}}}


def test_aggregates_over_no_records_are_empty(client, admin_auth, made):
    assert stats(client, admin_auth, sysparm_count="true", sysparm_sum_fields="sys_mod_count", sysparm_avg_fields="sys_mod_count", state="closed_complete") == {
        "stats": {"count": "0", "avg": {"sys_mod_count": ""}, "sum": {"sys_mod_count": ""}}
    }
    assert stats(client, admin_auth, sysparm_count="true", sysparm_group_by="state", state="closed_complete") == []


def test_group_by_with_values_in_order_of_the_group(client, admin_auth, made):
    assert stats(client, admin_auth, sysparm_count="true", sysparm_sum_fields="sys_mod_count", sysparm_group_by="state") == [
        {"stats": {"count": "3", "sum": {"sys_mod_count": "5"}}, "groupby_fields": [{"field": "state", "value": "new"}]},
        {"stats": {"count": "1", "sum": {"sys_mod_count": "1"}}, "groupby_fields": [{"field": "state", "value": "on_hold"}]},
        {"stats": {"count": "2", "sum": {"sys_mod_count": "0"}}, "groupby_fields": [{"field": "state", "value": "queued"}]},
    ]


def test_group_by_two_fields_with_display_values(client, admin_auth, made):
    for display in ("true", "all", "ALL"):
        result = stats(client, admin_auth, sysparm_count="true", sysparm_group_by="assigned_to,state,nosuchfield", sysparm_display_value=display, sysparm_query="state!=new")
        assert result == [
            {"stats": {"count": "2"}, "groupby_fields": [
                {"field": "assigned_to", "value": "", "display_value": ""}, {"field": "state", "value": "queued", "display_value": "Queued"}]},
            {"stats": {"count": "1"}, "groupby_fields": [
                {"field": "assigned_to", "value": result[1]["groupby_fields"][0]["value"], "display_value": "bob"},
                {"field": "state", "value": "on_hold", "display_value": "On Hold"}]},
        ]
        assert len(result[1]["groupby_fields"][0]["value"]) == 32
    result = stats(client, admin_auth, sysparm_count="true", sysparm_group_by="opened_by", sysparm_display_value="true")
    assert result == [{"stats": {"count": "6"}, "groupby_fields": [{"field": "opened_by", "value": ADMIN_SYS_ID, "display_value": "admin"}]}]


def test_having_filters_groups(client, admin_auth, made):
    assert stats(client, admin_auth, sysparm_count="true", sysparm_group_by="state", sysparm_having="count^state^>^1") == [
        {"stats": {"count": "3"}, "groupby_fields": [{"field": "state", "value": "new"}]},
        {"stats": {"count": "2"}, "groupby_fields": [{"field": "state", "value": "queued"}]},
    ]
    assert stats(client, admin_auth, sysparm_count="true", sysparm_group_by="state", sysparm_having="count^state^>=^2,sum^sys_mod_count^<^1") == [
        {"stats": {"count": "2"}, "groupby_fields": [{"field": "state", "value": "queued"}]},
    ]
    assert stats(client, admin_auth, sysparm_count="true", sysparm_group_by="state", sysparm_having="avg^sys_mod_count^=^1.6666666667") == []
    assert stats(client, admin_auth, sysparm_count="true", sysparm_group_by="state", sysparm_having="count^state^<^99999999999999999999") == stats(
        client, admin_auth, sysparm_count="true", sysparm_group_by="state")
    assert stats(client, admin_auth, sysparm_count="true", sysparm_group_by="state", sysparm_having="max^nosuchfield^=^1") == stats(
        client, admin_auth, sysparm_count="true", sysparm_group_by="state")


def test_order_by_an_aggregate_or_a_group_field(client, admin_auth, made):
    def order(by):
        result = stats(client, admin_auth, sysparm_count="true", sysparm_group_by="state", sysparm_order_by=by)
        return [group["groupby_fields"][0]["value"] for group in result]

    assert order("count") == ["on_hold", "queued", "new"]
    assert order("count^DESC") == ["new", "queued", "on_hold"]
    assert order("state^DESC") == ["queued", "on_hold", "new"]
    assert order("sum^sys_mod_count^DESC") == ["new", "on_hold", "queued"]
    assert order("nosuchfield^DESC,bad^x^y") == ["new", "on_hold", "queued"]


def test_order_by_an_aggregate_of_a_field_ascending_or_descending(client, admin_auth, made):
    """Sums of sys_mod_count once queued's first is updated six times: new 5,
    queued 6, on_hold 1, an order none of the group values has."""
    for n in range(6):
        client.patch(f"{TABLE}/{made[3]}", json={"channel": f"q{n}"}, headers=admin_auth)

    def order(by):
        result = stats(client, admin_auth, sysparm_count="true", sysparm_group_by="state", sysparm_order_by=by)
        return [group["groupby_fields"][0]["value"] for group in result]

    unordered = ["new", "on_hold", "queued"]
    assert order("sum^sys_mod_count") == ["on_hold", "new", "queued"]
    assert order("SUM^sys_mod_count^desc") == ["queued", "new", "on_hold"]
    assert order("max^sys_mod_count^DESC") == ["queued", "new", "on_hold"]
    # count takes a field or none; its function's name in any case.
    assert order("Count^state") == ["on_hold", "queued", "new"]
    assert order("count^state^DESC") == ["new", "queued", "on_hold"]
    # Neither a group field nor an aggregate: ignored, never a 4xx or 500.
    for ignored in ("state^sys_mod_count", "sys_mod_count^sum", "sum^sys_mod_count^x", "count^state^x^DESC", "DESC", "^DESC"):
        assert order(ignored) == unordered, ignored


def test_having_takes_the_databases_whole_integer_range(client, admin_auth, made):
    everything = stats(client, admin_auth, sysparm_count="true", sysparm_group_by="state")
    for bound in ("9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809"):
        operator = ">" if bound.startswith("-") else "<"
        assert stats(client, admin_auth, sysparm_count="true", sysparm_group_by="state", sysparm_having=f"count^state^{operator}^{bound}") == everything


def test_aggregates_of_a_choice_of_integer_values_leave_the_unset_out(client, admin_auth):
    """An incident's impact: choices 1 to 3, stored as text; a value given
    outside them is kept, and an empty one is no number."""
    for impact in ("1", "2", "", "7"):
        assert client.post("/api/now/table/incident", json={"impact": impact}, headers=admin_auth).status_code == 201
    incident = "/api/now/stats/incident"
    response = client.get(incident, query_string={"sysparm_count": "true", "sysparm_sum_fields": "impact", "sysparm_avg_fields": "impact",
                                                  "sysparm_min_fields": "impact", "sysparm_max_fields": "impact"}, headers=admin_auth)  # fmt: skip
    assert response.json == {"result": {"stats": {"count": "4", "avg": {"impact": "3.3333"}, "min": {"impact": "1"}, "max": {"impact": "7"}, "sum": {"impact": "10"}}}}
    response = client.get(incident, query_string={"sysparm_count": "true", "sysparm_group_by": "impact", "sysparm_display_value": "true"}, headers=admin_auth)
    assert [group["groupby_fields"] for group in response.json["result"]] == [
        [{"field": "impact", "value": value, "display_value": display}]
        for value, display in (("", ""), ("1", "1 - High"), ("2", "2 - Medium"), ("7", "7"))
    ]


def test_group_values_are_text_and_a_plain_fields_display_is_its_value(client, admin_auth, made):
    assert [(group["groupby_fields"], group["stats"]) for group in stats(client, admin_auth, sysparm_count="true", sysparm_group_by="sys_mod_count")] == [
        ([{"field": "sys_mod_count", "value": value}], {"count": count}) for value, count in (("0", "2"), ("1", "2"), ("2", "2"))
    ]
    assert stats(client, admin_auth, sysparm_count="true", sysparm_group_by="short_description", sysparm_display_value="true", state="queued") == [
        {"stats": {"count": "1"}, "groupby_fields": [{"field": "short_description", "value": value, "display_value": value}]} for value in ("d0", "d1")
    ]


def test_groups_without_aggregates_and_groups_of_unknown_fields_only(client, admin_auth, made):
    assert stats(client, admin_auth, sysparm_group_by="state") == [
        {"stats": {}, "groupby_fields": [{"field": "state", "value": value}]} for value in ("new", "on_hold", "queued")
    ]
    assert stats(client, admin_auth) == {"stats": {}}


def test_grouped_by_unknown_fields_only_is_one_group_of_everything_with_or_without_aggregates(client, admin_auth, made):
    """Unknown fields are dropped, as in a query: grouped by nothing, the
    answer is still a list, of one group."""
    assert stats(client, admin_auth, sysparm_count="true", sysparm_group_by="nosuchfield") == [{"stats": {"count": "6"}, "groupby_fields": []}]
    assert stats(client, admin_auth, sysparm_group_by="nosuchfield") == [{"stats": {}, "groupby_fields": []}]


def test_a_declared_choice_of_negative_integers_is_numeric(client, admin_auth):
    declare = {"name": "u_rating", "fields": {"u_score": {"type": "choice", "choices": ["-1", "0", "1"]}}}
    assert client.post("/__stand_in/tables", json=declare, headers=admin_auth).status_code == 201
    for score in ("-1", "1", "1"):
        assert client.post("/api/now/table/u_rating", json={"u_score": score}, headers=admin_auth).status_code == 201
    response = client.get("/api/now/stats/u_rating", query_string={"sysparm_sum_fields": "u_score", "sysparm_min_fields": "u_score"}, headers=admin_auth)
    assert response.json == {"result": {"stats": {"min": {"u_score": "-1"}, "sum": {"u_score": "1"}}}}


def test_having_compares_integers_past_a_floats_precision_exactly(client, admin_auth):
    declare = {"name": "u_big", "fields": {"u_n": {"type": "integer"}}}
    assert client.post("/__stand_in/tables", json=declare, headers=admin_auth).status_code == 201
    assert client.post("/api/now/table/u_big", json={"u_n": "9007199254740993"}, headers=admin_auth).status_code == 201

    def groups(having):
        response = client.get("/api/now/stats/u_big", query_string={"sysparm_count": "true", "sysparm_group_by": "u_n", "sysparm_having": having}, headers=admin_auth)
        return [group["groupby_fields"][0]["value"] for group in response.json["result"]]

    # 2**53 + 1: as a float it would be 2**53.
    assert groups("max^u_n^=^9007199254740993") == ["9007199254740993"]
    assert groups("max^u_n^=^9007199254740992") == []


def test_a_group_of_a_reference_whose_record_has_no_display_value_shows_it_empty(client, admin_auth):
    for declare in ({"name": "u_team", "display": "u_title", "fields": {"u_title": {"type": "string"}}},
                    {"name": "u_member", "fields": {"u_team": {"type": "reference", "reference": "u_team"}}}):  # fmt: skip
        assert client.post("/__stand_in/tables", json=declare, headers=admin_auth).status_code == 201
    team = client.post("/api/now/table/u_team", json={}, headers=admin_auth).json["result"]["sys_id"]
    assert client.post("/api/now/table/u_member", json={"u_team": team}, headers=admin_auth).status_code == 201
    response = client.get("/api/now/stats/u_member", query_string={"sysparm_count": "true", "sysparm_group_by": "u_team", "sysparm_display_value": "true"}, headers=admin_auth)
    assert response.json["result"] == [{"stats": {"count": "1"}, "groupby_fields": [{"field": "u_team", "value": team, "display_value": ""}]}]


def test_a_query_about_the_caller(client, admin_auth, made):
    mine = {"sysparm_count": "true", "sysparm_query": "assigned_to=javascript:gs.getUserID()"}
    assert stats(client, basic("bob", "bob-secret"), **mine) == {"stats": {"count": "1"}}
    assert stats(client, admin_auth, **mine) == {"stats": {"count": "0"}}


def test_the_answer_in_xml(client, admin_auth, made):
    response = client.get(STATS, query_string={"sysparm_count": "true", "sysparm_group_by": "state", "sysparm_display_value": "true"}, headers={**admin_auth, "Accept": "application/xml"})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/xml;charset=UTF-8"
    root = etree.fromstring(response.data)
    assert [(r.findtext("stats/count"), r.findtext("groupby_fields/value"), r.findtext("groupby_fields/display_value")) for r in root.findall("result")] == [
        ("3", "new", "New"), ("1", "on_hold", "On Hold"), ("2", "queued", "Queued")]
    response = client.get("/api/now/v1/stats/interaction?sysparm_count=true", headers={**admin_auth, "Accept": "application/xml"})
    assert response.data == b'<?xml version="1.0" encoding="UTF-8"?>\n<response><result><stats><count>6</count></stats></result></response>'


@pytest.mark.parametrize(
    "params, message",
    [
        ({"sysparm_avg_fields": "state"}, "state is not a numeric field: its avg cannot be computed"),
        ({"sysparm_sum_fields": "sys_created_on"}, "sys_created_on is not a numeric field: its sum cannot be computed"),
        ({"sysparm_having": "count^state^>"}, "Invalid value for sysparm_having: 'count^state^>' is not <aggregate>^<field>^<operator>^<number>"),
        ({"sysparm_having": "median^state^>^1"}, "Invalid value for sysparm_having: 'median^state^>^1' is not <aggregate>^<field>^<operator>^<number>"),
        ({"sysparm_having": "count^state^LIKE^1"}, "Invalid value for sysparm_having: 'count^state^LIKE^1' is not <aggregate>^<field>^<operator>^<number>"),
        ({"sysparm_having": "count^state^>^five"}, "Invalid value for sysparm_having: 'five' is not a number"),
        ({"sysparm_having": "count^state^>^nan"}, "Invalid value for sysparm_having: 'nan' is not a number"),
        ({"sysparm_having": "count^state^>^1e999"}, "Invalid value for sysparm_having: '1e999' is not a number"),
        ({"sysparm_query": "state=new^opened_atONjavascript:gs.evil()"}, None),
    ],
)
def test_bad_parameters_are_400s(client, admin_auth, made, params, message):
    response = client.get(STATS, query_string={"sysparm_count": "true", "sysparm_group_by": "state", **params}, headers=admin_auth)
    assert response.status_code == 400
    if message:
        assert response.json == failure(message)


def test_any_table_served_and_no_other(client, admin_auth, made):
    assert stats(client, admin_auth, sysparm_count="true").keys() == {"stats"}
    response = client.get("/api/now/stats/sys_user?sysparm_count=true", headers=admin_auth)
    assert response.json == {"result": {"stats": {"count": "2"}}}
    # A write-only field is no field to read: grouped by, aggregated or in HAVING, it drops out.
    for params in ("sysparm_group_by=user_password", "sysparm_group_by=user_name,user_password", "sysparm_max_fields=user_password",
                   "sysparm_group_by=user_name&sysparm_having=count^user_password^>^0"):  # fmt: skip
        response = client.get(f"/api/now/stats/sys_user?sysparm_count=true&{params}", headers=admin_auth)
        assert response.status_code == 200, (params, response.data)
        assert "user_password" not in response.text
    response = client.get("/api/now/stats/nothing?sysparm_count=true", headers=admin_auth)
    assert (response.status_code, response.json) == (400, failure("Invalid table nothing"))
    assert client.get(STATS).status_code == 401
    assert client.post(STATS, headers=admin_auth).status_code == 405


def test_it_runs_as_one_sql_statement_grouped_and_filtered_in_the_database(client, admin_auth, made, caplog):
    with caplog.at_level(logging.DEBUG, logger="peewee"):
        stats(client, admin_auth, sysparm_count="true", sysparm_sum_fields="sys_mod_count", sysparm_group_by="assigned_to",
              sysparm_display_value="true", sysparm_having="count^state^>^0", sysparm_order_by="count^DESC", sysparm_query="state!=new")
    statements = [record.msg[0] for record in caplog.records if record.name == "peewee" and "interaction" in str(record.msg[0])]
    assert len(statements) == 1
    [sql] = statements
    assert all(clause in sql for clause in ("COUNT(*)", "SUM(", "LEFT OUTER JOIN", "WHERE", "GROUP BY", "HAVING", "ORDER BY"))

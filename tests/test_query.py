"""The encoded-query compiler by itself (TABLE_API.md §4.1): each query
runs as SQL in the database, with the same rows on SQLite and PostgreSQL."""
from datetime import datetime, timedelta, timezone

import pytest

from app.db import database
from app.models import ADMIN_SYS_ID, Interaction, SysUser
from app.records import catalog as F
from app.records import query as Q
from app.records import store
from app.records.errors import QueryError
from app.records.values import View

BOB = "b" * 32
ADMIN = Q.Caller(ADMIN_SYS_ID, "admin")
AS_BOB = Q.Caller(BOB, "bob")
# Row 5's opened_at: the moment the rows are made, not the module imported,
# as gs.minutesAgo(5) is read from the clock when the query runs.
JUST_NOW = "just now"

# number, state, queue, short_description, opened_by, opened_for, assigned_to, opened_at, closed_at, sys_mod_count
ROWS = [
    (1, "new", "", "Printer on fire", ADMIN_SYS_ID, "", "", datetime(2026, 1, 1, 10), None, 0),
    (2, "queued", "q1", "printer jam", ADMIN_SYS_ID, BOB, "", datetime(2026, 1, 2, 10), None, 1),
    (3, "closed_complete", "q1", "Network down", BOB, ADMIN_SYS_ID, BOB, datetime(2026, 1, 3, 10), datetime(2026, 1, 4), 2),
    (4, "work_in_progress", "q2", "100% sure_thing", BOB, "", ADMIN_SYS_ID, datetime(2026, 1, 4, 10), None, 3),
    (5, "new", "", "a sureXthing", ADMIN_SYS_ID, "", "", JUST_NOW, None, 0),
]


@pytest.fixture
def rows(app):
    with app.app_context():
        SysUser.create(sys_id=BOB, user_name="bob", password_hash="-")
        for n, state, queue, text, opened_by, opened_for, assigned_to, opened_at, closed_at, count in ROWS:
            if opened_at == JUST_NOW:
                opened_at = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
            Interaction.create(
                sys_id=f"{n:032x}",
                number=f"IMS{n:07d}",
                state=state,
                channel="c",
                queue=queue,
                short_description=text,
                opened_by=opened_by,
                opened_for=opened_for,
                assigned_to=assigned_to,
                opened_at=opened_at,
                closed_at=closed_at,
                sys_mod_count=count,
            )
        yield app


def numbers(app, text, caller=ADMIN):
    with app.app_context():
        page = store.find(F.INTERACTION, Q.parse(text), View(fields=("number",)), caller, "http://test")
    found = [int(record["number"][3:]) for record in page.records]
    assert page.total == len(found)
    return found


CASES = [
    ("", [1, 2, 3, 4, 5]),
    ("number=IMS0000002", [2]),
    ("state!=new", [2, 3, 4]),
    ("opened_at>2026-01-02 10:00:00", [3, 4, 5]),
    ("opened_at>=2026-01-02 10:00:00", [2, 3, 4, 5]),
    ("opened_at<2026-01-02 10:00:00", [1]),
    ("opened_at<=2026-01-02 10:00:00", [1, 2]),
    ("opened_at<2026-01-02", [1]),
    ("stateINnew,queued", [1, 2, 5]),
    ("stateNOT INnew,queued", [3, 4]),
    ("short_descriptionLIKEprinter", [1, 2]),
    ("short_descriptionLIKEPRINTER", [1, 2]),
    ("short_descriptionNOT LIKEprinter", [3, 4, 5]),
    ("short_descriptionSTARTSWITHnet", [3]),
    ("short_descriptionENDSWITHJAM", [2]),
    ("opened_atSTARTSWITH2026-01-02", [2]),
    ("short_descriptionLIKE100%", [4]),
    ("short_descriptionLIKEe_t", [4]),
    ("closed_atISEMPTY", [1, 2, 4, 5]),
    ("closed_atISNOTEMPTY", [3]),
    ("queueISEMPTY", [1, 5]),
    ("queueISNOTEMPTY", [2, 3, 4]),
    ("queueEMPTYSTRING", [1, 5]),
    ("queueANYTHING", [1, 2, 3, 4, 5]),
    ("closed_atEMPTYSTRING", [1, 2, 4, 5]),
    ("opened_atBETWEEN2026-01-02 00:00:00@2026-01-03 23:59:59", [2, 3]),
    ("sys_mod_countBETWEEN1@2", [2, 3]),
    ("sys_mod_count>1", [3, 4]),
    # An integer's values are SQL's 64 bits, both ends included.
    ("sys_mod_count>=-9223372036854775808", [1, 2, 3, 4, 5]),
    ("sys_mod_count<=9223372036854775807", [1, 2, 3, 4, 5]),
    ("opened_bySAMEASassigned_to", [3]),
    ("opened_byNSAMEASassigned_to", [1, 2, 4, 5]),
    # Fields of two kinds compare as their text (PostgreSQL compares no number with text).
    ("sys_mod_countSAMEASqueue", []),
    ("sys_mod_countNSAMEASqueue", [1, 2, 3, 4, 5]),
    ("opened_atSAMEASshort_description", []),
    ("closed_atNSAMEASqueue", [3]),
    ("state=new^ORstate=queued", [1, 2, 5]),
    # ^OR binds tighter than ^: (new OR queued) AND q1.
    ("state=new^ORstate=queued^queue=q1", [2]),
    ("queue=q1^state=new^ORstate=queued", [2]),
    ("state=closed_complete^NQqueue=q2", [3, 4]),
    ("number=IMS0000001^NQstate=queued^queue=q1", [1, 2]),
    ("number=IMS0000001^EQ", [1]),
    ("^state=new", [1, 5]),
    ("ORDERBYDESCnumber", [5, 4, 3, 2, 1]),
    ("ORDERBYqueue^ORDERBYDESCnumber", [5, 1, 3, 2, 4]),
    ("ORDERBYDESCqueue^ORDERBYnumber", [4, 2, 3, 1, 5]),
    ("stateINnew,queued^ORDERBYDESCopened_at", [5, 2, 1]),
    ("ORDERBYopened_by.user_name^ORDERBYDESCnumber", [5, 2, 1, 4, 3]),
    ("ORDERBYnope^ORDERBYDESCnumber", [5, 4, 3, 2, 1]),
    ("opened_by.user_name=bob", [3, 4]),
    ("assigned_to.user_name=admin", [4]),
    ("assigned_to.user_nameISEMPTY", [1, 2, 5]),
    # "is not" also matches records whose reference is empty.
    ("opened_for.user_name!=admin", [1, 2, 4, 5]),
    ("opened_for.active=true", [2, 3]),
    # Conditions on unknown fields drop out, as on ServiceNow.
    ("nope=1", [1, 2, 3, 4, 5]),
    ("nope=1^number=IMS0000001", [1]),
    ("nope=1^ORnumber=IMS0000001", [1]),
    ("number=IMS0000001^NQnope=1", [1, 2, 3, 4, 5]),
    ("opened_by.nope=1", [1, 2, 3, 4, 5]),
    ("short_description.user_name=x", [1, 2, 3, 4, 5]),
    ("opened_by.user_name.user_name=x", [1, 2, 3, 4, 5]),
    ("opened_bySAMEASnope", [1, 2, 3, 4, 5]),
    # Scripts ServiceNow's clients send, evaluated here, never run.
    ("opened_by=javascript:gs.getUserID()", [1, 2, 5]),
    ("opened_at>=javascript:gs.dateGenerate('2026-01-03','00:00:00')", [3, 4, 5]),
    ('opened_at<javascript:gs.dateGenerate("2026-01-02 10:00:01")', [1, 2]),
    ("opened_at<=javascript:gs.dateGenerate('2026-01-02','end')", [1, 2]),
    (
        'opened_atBETWEENjavascript:gs.dateGenerate("2026-01-02 00:00:00")@javascript:gs.dateGenerate("2026-01-03 23:59:59")',
        [2, 3],
    ),
    ("opened_at>=javascript:gs.beginningOfToday()", [5]),
    ("opened_at<=javascript:gs.endOfToday()", [1, 2, 3, 4, 5]),
    ("opened_at>javascript:gs.daysAgo(1)", [5]),
    ("opened_at>=javascript:gs.daysAgoStart(0)", [5]),
    ("opened_at<=javascript:gs.daysAgoEnd(1)", [1, 2, 3, 4]),
    ("opened_at>=javascript:gs.hoursAgo(1)", [5]),
    ("opened_at>=javascript:gs.minutesAgo(5);", [5]),
]


@pytest.mark.parametrize("text, expected", CASES, ids=[case[0] for case in CASES])
def test_each_operator_and_combination_selects_the_expected_rows(rows, text, expected):
    assert numbers(rows, text) == expected


def test_scripts_take_the_caller(rows):
    assert numbers(rows, "opened_by=javascript:gs.getUserID()", AS_BOB) == [3, 4]
    assert numbers(rows, "opened_by.user_name=javascript:gs.getUserName()", AS_BOB) == [3, 4]


def test_a_long_in_list_runs(rows):
    sys_ids = [f"{n:032x}" for n in range(1, 201)]
    assert numbers(rows, "sys_idIN" + ",".join(sys_ids)) == [1, 2, 3, 4, 5]


def test_sys_user_booleans(app):
    with app.app_context():
        SysUser.create(sys_id=BOB, user_name="bob", password_hash="-", active=False)
        view = View(fields=("user_name",))
        active = store.find(F.SYS_USER, Q.parse("active=true"), view, ADMIN, "").records
        inactive = store.find(F.SYS_USER, Q.parse("active=0"), view, ADMIN, "").records
    assert (active, inactive) == ([{"user_name": "admin"}], [{"user_name": "bob"}])


MALFORMED = [
    ("numberFOO", "Invalid condition 'numberFOO' in the encoded query: expected <field><operator><value>"),
    ("=IMS0000001", "Invalid condition '=IMS0000001' in the encoded query: expected <field><operator><value>"),
    ("opened_atBETWEEN2026-01-01", "BETWEEN needs two values joined by @, not '2026-01-01'"),
    ("opened_at>yesterday", "'yesterday' is not a date-time (YYYY-MM-DD HH:MM:SS)"),
    ("sys_mod_count=three", "'three' is not an integer"),
    ("sys_mod_count<9223372036854775808", "'9223372036854775808' is out of range"),
    ("sys_mod_count>-9223372036854775809", "'-9223372036854775809' is out of range"),
    ("sys_mod_countIN1,two", "'two' is not an integer"),
    ("sys_mod_countBETWEENone@2", "'one' is not an integer"),
    ("sys_mod_countBETWEEN1@two", "'two' is not an integer"),
    ("opened_by=javascript:gs.getUser().getRecord()", "Unsupported script in the encoded query: 'javascript:gs.getUser().getRecord()'"),
    ("opened_by=javascript:alert(1)", "Unsupported script in the encoded query: 'javascript:alert(1)'"),
    ("opened_by=javascript:gs.getUserID()X", "Unsupported script in the encoded query: 'javascript:gs.getUserID()X'"),
    ("opened_at>javascript:gs.daysAgo(two)", "gs.daysAgo() takes a whole number: 'javascript:gs.daysAgo(two)'"),
    ("opened_by=javascript:gs.getUserID(1)", "gs.getUserID() takes no arguments: 'javascript:gs.getUserID(1)'"),
    ("opened_at>javascript:gs.dateGenerate(2026)", "gs.dateGenerate() takes a date and a time: 'javascript:gs.dateGenerate(2026)'"),
]


@pytest.mark.parametrize("text, message", MALFORMED, ids=[case[0] for case in MALFORMED])
def test_a_malformed_query_says_what_is_wrong(rows, text, message):
    with pytest.raises(QueryError) as raised:
        numbers(rows, text)
    assert str(raised.value) == message


def test_boolean_values_must_be_booleans(app):
    with app.app_context(), pytest.raises(QueryError) as raised:
        store.find(F.SYS_USER, Q.parse("active=maybe"), View(), ADMIN, "")
    assert str(raised.value) == "'maybe' is not true or false"


def test_the_condition_is_in_the_sql_and_its_value_a_parameter(app):
    with app.app_context():
        resolved = Q.resolve(F.INTERACTION, Q.parse("number=IMS0000001^ORDERBYDESCopened_at"), ADMIN)
        statement = Q.select_statement(database.obj, F.INTERACTION, (Q.Column("number"),), resolved.shape, resolved.orderings, True)
    assert '"number" = ' in statement.sql
    assert "IMS0000001" not in statement.sql
    assert 'ORDER BY "t1"."opened_at" DESC, "t1"."sys_id" ASC' in statement.sql
    assert resolved.values == ("IMS0000001",)


def test_queries_of_one_shape_share_one_statement(app):
    with app.app_context():
        shapes = {Q.resolve(F.INTERACTION, Q.parse(f"number=IMS{n:07d}"), ADMIN).shape for n in range(3)}
    assert len(shapes) == 1


def test_parse_reads_groups_terms_and_orderings():
    parsed = Q.parse("a=1^ORb!=2^cISEMPTY^ORDERBYd^NQeLIKEx^ORDERBYDESCf")
    assert parsed == Q.Query(
        (
            ((Q.Condition("a", "=", "1"), Q.Condition("b", "!=", "2")), (Q.Condition("c", "ISEMPTY", ""),)),
            ((Q.Condition("e", "LIKE", "x"),),),
        ),
        (Q.Ordering("d", False), Q.Ordering("f", True)),
    )


def test_a_value_may_hold_operators_and_equals_signs():
    assert Q.parse("short_descriptionLIKEa=b!=c") == Q.condition("short_description", "LIKE", "a=b!=c")


def test_queries_add_up_as_and():
    combined = Q.parse("a=1^ORb=2^NQc=3") + Q.parse("d=4^ORDERBYe")
    assert combined == Q.Query(
        (
            ((Q.Condition("a", "=", "1"), Q.Condition("b", "=", "2")), (Q.Condition("d", "=", "4"),)),
            ((Q.Condition("c", "=", "3"),), (Q.Condition("d", "=", "4"),)),
        ),
        (Q.Ordering("e", False),),
    )
    assert Q.EMPTY + Q.parse("a=1") == Q.parse("a=1")


def test_days_ago_counts_from_now():
    caller = ADMIN
    now = datetime(2026, 3, 10, 15, 30, 0)
    resolved = Q.resolve(F.INTERACTION, Q.parse("opened_at>javascript:gs.daysAgo(2)^opened_at<javascript:gs.daysAgoEnd(2)"), caller, now)
    assert resolved.values == ("2026-03-08 15:30:00", "2026-03-08 23:59:59")
    resolved = Q.resolve(F.INTERACTION, Q.parse("opened_at>javascript:gs.daysAgoStart(2)^opened_at>javascript:gs.hoursAgo(2)"), caller, now)
    assert resolved.values == ("2026-03-08 00:00:00", "2026-03-10 13:30:00")
    assert now - timedelta(minutes=3) == datetime.strptime(
        Q.resolve(F.INTERACTION, Q.parse("opened_at>javascript:gs.minutesAgo(3)"), caller, now).values[0], "%Y-%m-%d %H:%M:%S"
    )


def test_a_read_by_sys_id_resolves_as_its_query_would():
    assert Q.by_sys_id("abc") == Q.resolve(F.INTERACTION, Q.parse("sys_id=abc"), ADMIN)


@pytest.mark.parametrize("glue", ["^", "^OR", "^NQ"])
def test_hundreds_of_conditions_run_and_more_are_refused(rows, glue):
    many = glue.join(f"number=IMS{n:07d}" for n in range(1, Q.MAX_CONDITIONS + 1))
    assert numbers(rows, many) == ([] if glue == "^" else [1, 2, 3, 4, 5])
    with pytest.raises(QueryError) as raised:
        numbers(rows, many + glue + "number=IMS0000001")
    assert str(raised.value) == "The encoded query has more than 500 terms"


def test_scripts_give_exact_moments():
    # Seconds past the minute: the day starts at 00:00:00 all the same.
    now = datetime(2026, 3, 10, 15, 30, 45)
    text = (
        "opened_at<javascript:gs.endOfToday()^opened_at>javascript:gs.beginningOfToday()"
        "^opened_at>javascript:gs.dateGenerate('2026-01-01','start')"
        '^opened_at>javascript:gs.dateGenerate("2026-01-02","12:00:00")'
        "^opened_at>javascript: gs.hoursAgo(1) ;"
    )
    assert Q.resolve(F.INTERACTION, Q.parse(text), ADMIN, now).values == (
        "2026-03-10 23:59:59",
        "2026-03-10 00:00:00",
        "2026-01-01 00:00:00",
        "2026-01-02 12:00:00",
        "2026-03-10 14:30:45",
    )


def test_like_patterns_escape_what_like_would_read_as_wildcards():
    resolved = Q.resolve(F.INTERACTION, Q.parse("short_descriptionLIKE50%_\\x^numberSTARTSWITHa_^numberENDSWITH%b"), ADMIN)
    assert resolved.values == ("%50\\%\\_\\\\x%", "a\\_%", "%\\%b")


def test_keys_take_the_caller(rows):
    with rows.app_context():
        keys = store.keys(F.INTERACTION, Q.parse("opened_by=javascript:gs.getUserID()"), AS_BOB)
    assert sorted(keys) == [f"{3:032x}", f"{4:032x}"]

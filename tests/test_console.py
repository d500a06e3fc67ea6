"""The console's pages through Flask's test client: every page, filters and
paging, escaping, CSRF, admins only, the header (issue 11)."""
import html
import re
import time

import pytest
from markupsafe import escape

from app.stand_in.console import csrf, overview
from conftest import ADMIN_PASSWORD, CHANNEL, basic

CONSOLE = "/__stand_in/console"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def carol(runner):
    result = runner.invoke(args=["user", "add", "carol", "--password", "carol-pw"])
    assert result.exit_code == 0, result.output
    return basic("carol", "carol-pw")


class Console:
    def __init__(self, client, headers):
        self.client = client
        self.headers = headers

    def get(self, path, status=200):
        response = self.client.get(CONSOLE + path, headers=self.headers)
        assert response.status_code == status, response.data.decode()
        return response.data.decode()

    def token(self, path="/faults"):
        return TOKEN.search(self.get(path)).group(1)

    def post(self, path, data=None, token=True):
        data = dict(data or {})
        if token:
            data["csrf_token"] = self.token()
        return self.client.post(CONSOLE + path, data=data, headers=self.headers)

    def seed(self, *interactions):
        response = self.client.post("/__stand_in/seed", json={"interactions": list(interactions)}, headers=self.headers)
        assert response.status_code == 201, response.data


@pytest.fixture
def console(client, admin_auth):
    return Console(client, admin_auth)


def numbers(page):
    return re.findall(r'data-label="Number"><a href="[^"]+">(IMS\d+)</a>', page)


def interaction(number, **fields):
    return {"channel": CHANNEL, "number": number, **fields}


def curl(page):
    """The "copy as curl" command of a request's page."""
    return html.unescape(re.search(r'<pre class="code curl">(.*?)</pre>', page, re.S).group(1))


# --- who may see it --------------------------------------------------------


def test_the_root_redirects_to_the_console(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"] == CONSOLE + "/"


def test_without_test_support_there_is_no_console_and_the_root_stays_a_404(make_app, admin_auth):
    client = make_app(TEST_SUPPORT=False).test_client()
    for path in ("/", CONSOLE + "/", CONSOLE + "/requests"):
        assert client.get(path, headers=admin_auth).status_code == 404


PAGES = ["/", "/interactions/0123", "/requests", "/requests/abc", "/faults", "/oauth", "/reset"]
FORMS = ["/interactions/0123/close", "/faults", "/faults/1/delete", "/faults/delete", "/oauth", "/oauth/x/delete", "/reset"]


@pytest.mark.parametrize("method, path", [("GET", p) for p in PAGES] + [("POST", p) for p in FORMS])
def test_every_page_and_form_is_for_admins_only(client, carol, method, path):
    assert client.open(CONSOLE + path, method=method).status_code == 401
    response = client.open(CONSOLE + path, method=method, headers=carol)
    assert response.status_code == 403
    page = response.data.decode()
    assert "Admin rights required" in page
    # Nothing of the service is shown to a user who is no admin.
    assert "SQLite" not in page and "Queued" not in page


# --- the header ------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/requests", "/faults", "/reset", "/reset?scope=all"])
def test_every_page_has_the_header(console, app, path):
    console.seed(
        interaction("IMS0000001", state="queued"), interaction("IMS0000002", state="queued"), interaction("IMS0000003")
    )
    page = console.get(path)
    with app.app_context():
        assert escape(overview.database()) in page
    assert re.search(r"New <b>1</b>", page)
    assert re.search(r"Queued <b>2</b>", page)
    assert re.search(r"Closed Complete <b>0</b>", page)
    assert "version 0.1.0" in page
    assert 'href="/__stand_in/console/static/console.css"' in page


def test_the_database_is_named_without_credentials(app):
    with app.app_context():
        app.config["DATABASE_URL"] = "postgresql://svc:s3cret@db.example:5433/interactions"
        assert overview.database() == "PostgreSQL db.example:5433/interactions"
        app.config["DATABASE_URL"] = "postgresql:///interactions"
        assert overview.database() == "PostgreSQL localhost/interactions"
        app.config["DATABASE_URL"] = "sqlite:////srv/data/interaction.sqlite3"
        assert overview.database() == "SQLite /srv/data/interaction.sqlite3"


def test_the_version_of_a_checkout_never_installed_is_unknown(console, monkeypatch):
    monkeypatch.setattr(overview, "DISTRIBUTION", "no-such-distribution")
    assert '<span class="version">version unknown</span>' in console.get("/")


def test_refresh_reloads_the_page_and_is_kept_by_the_filters(console):
    page = console.get("/?refresh=5")
    assert '<meta http-equiv="refresh" content="5">' in page
    assert '<input type="hidden" name="refresh" value="5">' in page
    assert '<meta http-equiv="refresh" content="3600">' in console.get("/?refresh=3600")
    for bad in ("abc", "0", "3601"):
        assert 'http-equiv="refresh"' not in console.get(f"/?refresh={bad}")


def test_the_refresh_link_keeps_the_filters_but_not_the_notice(console):
    stop = console.get("/?state=new&refresh=5&done=closed")
    assert '<a class="refresh on" href="/__stand_in/console/?state=new">Reloading every 5 s · stop</a>' in stop
    start = console.get("/?state=new&done=closed")
    assert '<a class="refresh" href="/__stand_in/console/?state=new&amp;refresh=5">Reload every 5 s</a>' in start


@pytest.mark.parametrize(
    "done, notice",
    [
        ("closed", "The interaction is closed."),
        ("fault-added", "The fault rule is added."),
        ("fault-deleted", "The fault rule is deleted."),
        ("faults-deleted", "Every fault rule is deleted."),
        ("reset-interactions", "Reset: interactions, documents, the journal and fault rules are gone."),
        ("reset-all", "Reset: interactions, documents, the journal, fault rules, OAuth clients and every user but admin are gone."),
    ],
)
def test_a_notice_is_a_fixed_text_per_key(console, done, notice):
    assert f'<p class="notice" role="status">{notice}</p>' in console.get(f"/?done={done}")


def test_an_unknown_notice_key_shows_nothing(console):
    assert 'class="notice"' not in console.get(f"/?done={SCRIPT}")


def current_section(page):
    return re.findall(r'<a href="[^"]+" aria-current="page">(\w+)</a>', page)


def test_every_page_marks_its_section_in_the_navigation(console, api, admin_auth):
    sys_id = api.created()["sys_id"]
    transaction_id = api.client.get("/__stand_in/requests", headers=admin_auth).json["result"][0]["transaction_id"]
    assert current_section(console.get("/")) == ["Interactions"]
    assert current_section(console.get(f"/interactions/{sys_id}")) == ["Interactions"]
    assert current_section(console.get(f"/requests/{transaction_id}")) == ["Requests"]
    assert current_section(console.post("/faults", {"preset": "bogus"}).data.decode()) == ["Faults"]
    assert current_section(console.post("/reset", {"scope": "some"}).data.decode()) == ["Reset"]


@pytest.mark.parametrize("path", ["/", "/interactions/nope"])
def test_pages_forbid_scripts_and_frames_and_are_never_cached(client, admin_auth, path):
    response = client.get(CONSOLE + path, headers=admin_auth)
    assert response.headers["Content-Security-Policy"] == (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    )
    assert response.headers["X-Frame-Options"] == "DENY"
    # Set on every answer of the service (app/transactions.py).
    assert response.headers["Cache-Control"] == "no-cache,no-store,must-revalidate,max-age=-1"


# --- interactions ----------------------------------------------------------


def test_the_list_is_newest_first_and_paged_keeping_the_filters(console):
    console.seed(*(interaction(f"IMS{n:07d}", opened_at=f"2026-11-01 10:{n:02d}:00") for n in range(1, 31)))
    first = console.get("/")
    assert numbers(first) == [f"IMS{n:07d}" for n in range(30, 5, -1)]
    assert "1–25 of 30" in first
    assert '<a href="/__stand_in/console/?page=2" rel="next">' in first and 'rel="prev"' not in first
    second = console.get("/?page=2")
    assert numbers(second) == [f"IMS{n:07d}" for n in range(5, 0, -1)]
    assert "26–30 of 30" in second
    assert '<a href="/__stand_in/console/?page=1" rel="prev">' in second and 'rel="next"' not in second
    filtered = console.get("/?number=IMS00000&refresh=5")
    assert 'href="/__stand_in/console/?number=IMS00000&amp;refresh=5&amp;page=2"' in filtered


def test_a_full_last_page_has_no_older_link(console):
    console.seed(*(interaction(f"IMS{n:07d}") for n in range(1, 26)))
    page = console.get("/")
    assert "1–25 of 25" in page and 'rel="next"' not in page


@pytest.mark.parametrize(
    "query, expected",
    [
        ("state=closed_complete", ["IMS0000003"]),
        ("number=IMS0000002", ["IMS0000002"]),
        ("text=printer", ["IMS0000003", "IMS0000001"]),
        ("text=PRINTER&state=new", ["IMS0000001"]),
        ("queue=q-billing", ["IMS0000002"]),
        ("opened_from=2026-11-02&opened_to=2026-11-02", ["IMS0000002"]),
        ("opened_from=2026-11-02", ["IMS0000003", "IMS0000002"]),
        ("opened_to=2026-11-01", ["IMS0000001"]),
        # A value is one condition: a ^ cannot add a term of its own.
        ("text=printer^ORstate=new", []),
        ("state=&number=&text=", ["IMS0000003", "IMS0000002", "IMS0000001"]),
    ],
)
def test_filters(console, query, expected):
    console.seed(
        interaction("IMS0000001", state="new", short_description="Printer on fire", opened_at="2026-11-01 09:00:00"),
        interaction("IMS0000002", state="queued", queue="q-billing", opened_at="2026-11-02 23:59:59"),
        interaction(
            "IMS0000003", state="closed_complete", short_description="printer jam", opened_at="2026-11-03 00:00:00"
        ),
    )
    assert numbers(console.get("/?" + query)) == expected


@pytest.mark.parametrize(
    "query, message",
    [
        ("state=nope", "state: Must be one of"),
        ("opened_from=yesterday", "opened_from: Not a valid date"),
        ("page=0", "page:"),
    ],
)
def test_a_bad_filter_is_a_400_saying_which(console, query, message):
    assert message in console.get("/?" + query, status=400)


def test_one_interaction_shows_every_field_its_documents_its_answer_and_its_requests(console, api):
    created = api.created(queue="q1", context={"customer": {"id": 42}}, channel_metadata={"lang": "en"})
    api.client.get(f"/api/now/table/interaction/{created['sys_id']}", headers=api.headers)
    page = console.get(f"/interactions/{created['sys_id']}")
    for name in ("sys_id", "number", "state", "channel", "queue", "opened_by", "opened_at", "sys_mod_count"):
        assert f'<th scope="row">{name}</th>' in page
    # Documents and the answer, indented.
    assert escape('{\n  "customer": {\n    "id": 42\n  }\n}') in page
    assert escape('{\n  "lang": "en"\n}') in page
    assert escape('"number": "IMS0000001"') in page
    assert escape("<response>\n  <result>\n    <channel>") in page
    # The create (its answer holds the sys_id) and the Table API read.
    assert page.count('data-label="Transaction"') == 2
    assert "/api/now/table/interaction/" in page
    assert ">Close</button>" in page


def test_the_close_button_closes_it_with_a_token_and_not_without(console, api):
    sys_id = api.created()["sys_id"]
    refused = console.post(f"/interactions/{sys_id}/close", token=False)
    assert refused.status_code == 403
    assert "<h1>403 · Operation Failed</h1>" in refused.data.decode()
    detail = "The form's token is missing or out of date: reload the page and send the form again"
    assert f'<p class="error">{escape(detail)}</p>' in refused.data.decode()
    assert 'class="state state-new"' in console.get(f"/interactions/{sys_id}")
    closed = console.post(f"/interactions/{sys_id}/close")
    assert closed.status_code == 303
    assert closed.headers["Location"].endswith(f"/interactions/{sys_id}?done=closed")
    page = console.get(f"/interactions/{sys_id}?done=closed")
    assert "The interaction is closed." in page
    assert "Closed Complete" in page and ">Close</button>" not in page


def test_an_unknown_interaction_is_a_404_page(console):
    assert "No interaction nope" in console.get("/interactions/nope", status=404)


def test_every_value_is_escaped(console, api, admin_auth):
    created = api.created(context={"note": SCRIPT}, short_description=SCRIPT, queue="<b>q</b>")
    api.client.get("/api/now/<script>", headers=admin_auth)
    pages = [
        console.get("/"),
        console.get(f"/interactions/{created['sys_id']}"),
        console.get("/requests"),
        console.get("/requests?path=<script>"),
    ]
    transaction_id = api.client.get("/__stand_in/requests?path=script", headers=admin_auth).json["result"][0]
    pages.append(console.get(f"/requests/{transaction_id['transaction_id']}"))
    for page in pages:
        assert "<script>" not in page and "<b>q" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[1]


# --- requests --------------------------------------------------------------


def test_the_requests_are_listed_with_the_journal_filters(console, api, carol):
    sys_id = api.created()["sys_id"]
    api.close(sys_id)
    api.close("nope")
    # Carol's request, the newest, is the one since its own millisecond.
    time.sleep(0.01)
    api.client.get("/api/now/interaction", headers=carol)
    page = console.get("/requests")
    assert page.count('data-label="Transaction"') == 4
    assert '<span class="status s2">201</span>' in page
    assert '<span class="status s4">404</span>' in page
    assert console.get("/requests?method=post&path=/close$").count('data-label="Transaction"') == 2
    assert console.get("/requests?status=404").count('data-label="Transaction"') == 1
    assert console.get("/requests?user=carol").count('data-label="Transaction"') == 1
    since = api.client.get("/__stand_in/requests", headers=api.headers).json["result"][0]["received_at"]
    assert console.get(f"/requests?since={since}").count('data-label="Transaction"') == 1
    assert "Not a valid regular expression" in console.get("/requests?path=(", status=400)
    assert "status:" in console.get("/requests?status=abc", status=400)


def test_one_request_masks_headers_indents_bodies_and_copies_as_curl(console, api, admin_auth):
    body = b"<request><entry><channel>c'1</channel></entry></request>"
    api.client.post(
        "/api/now/interaction",
        data=body,
        headers={**admin_auth, "Content-Type": "application/xml", "Accept": "application/xml", "Cookie": "s=1"},
    )
    entry = api.client.get("/__stand_in/requests", headers=admin_auth).json["result"][0]
    page = console.get(f"/requests/{entry['transaction_id']}")
    assert "Basic ***" in page
    assert basic("admin", ADMIN_PASSWORD)["Authorization"].split()[1] not in page
    assert ADMIN_PASSWORD not in page
    assert escape("<request>\n  <entry>\n    <channel>c'1</channel>") in page
    assert escape("<response>\n  <result>") in page
    command = curl(page)
    assert command.startswith("curl -X POST http://localhost/api/now/interaction \\\n")
    assert '  -u admin:"$PASSWORD" \\\n' in command
    assert "  -H 'Content-Type: application/xml' \\\n" in command
    assert "Cookie" not in command and "Host:" not in command
    assert command.endswith("--data-binary '<request><entry><channel>c'\"'\"'1</channel></entry></request>'")


def test_copy_as_curl_keeps_the_query_and_names_a_user_for_basic_credentials_only(console, client, admin_auth):
    path = "/api/now/table/interaction?sysparm_limit=1"
    # A bearer token, Basic credentials that fail and none at all: none names a user.
    for authorization in ({"Authorization": "Bearer abc"}, basic("admin", "wrong"), {}, admin_auth):
        client.get(path, headers={**authorization, "User-Agent": "t"})
    entries = client.get("/__stand_in/requests?path=^/api/", headers=admin_auth).json["result"]
    shown = [curl(console.get(f"/requests/{entry['transaction_id']}")) for entry in entries]
    start = f"curl -X GET 'http://localhost{path}' \\\n"
    assert shown == [
        start + '  -u admin:"$PASSWORD" \\\n' + "  -H 'User-Agent: t'",
        start + "  -H 'User-Agent: t'",
        start + "  -H 'User-Agent: t'",
        start + "  -H 'User-Agent: t'",
    ]


def test_a_body_is_read_as_its_content_type_says_or_else_by_its_first_character(console, api, admin_auth):
    body = '{"channel": "c1"}'
    api.client.post("/api/now/interaction", data=body, headers={**admin_auth, "Content-Type": "text/plain"})
    api.client.post("/api/now/interaction", data=body, headers=admin_auth)
    untyped, plain = api.client.get("/__stand_in/requests", headers=admin_auth).json["result"]
    assert "Content-Type" not in untyped["request"]["headers"]
    indented = escape('{\n  "channel": "c1"\n}')
    assert indented in console.get(f"/requests/{untyped['transaction_id']}")
    page = console.get(f"/requests/{plain['transaction_id']}")
    assert f'<pre class="code">{escape(body)}</pre>' in page and indented not in page


def test_an_unknown_request_is_a_404_page(console):
    assert "No request abc in the journal" in console.get("/requests/abc", status=404)


# --- faults ----------------------------------------------------------------


def test_a_preset_fault_fails_the_next_closes_and_is_deleted(console, api):
    sys_id = api.created()["sys_id"]
    added = console.post("/faults", {"preset": "close503", "times": "2"})
    assert added.status_code == 303
    page = console.get("/faults?done=fault-added")
    assert "The fault rule is added." in page
    assert api.close(sys_id).status_code == 503
    page = console.get("/faults")
    assert re.search(r'data-label="Hits" class="number">1</td>\s*<td data-label="Remaining" class="number">1<', page)
    assert 'href="/__stand_in/console/faults#rule-1">rule 1</a>' in console.get("/requests")
    assert console.post("/faults/1/delete").status_code == 303
    assert "No fault rule" in console.get("/faults")
    assert api.close(sys_id).status_code == 200


@pytest.mark.parametrize(
    "form, effect",
    [
        ({"preset": "delay", "ms": "1500", "path": "/close$"}, '"ms": 1500'),
        ({"preset": "drop", "mode": "reset", "times": "1"}, '"mode": "reset"'),
        ({"preset": "json", "rule": '{"effect": {"type": "error", "status": 429}, "skip": 1}'}, '"status": 429'),
    ],
)
def test_the_other_presets_and_a_rule_in_full(console, form, effect):
    assert console.post("/faults", form).status_code == 303
    assert escape(effect) in console.get("/faults")


EMPTY_JSON = "rule: Not valid JSON: Input is a zero-length, empty document: line 1 column 1 (char 0)"


@pytest.mark.parametrize(
    "form, message",
    [
        ({"preset": "json", "rule": "{"}, "rule: Not valid JSON: unexpected end of data: line 1 column 2 (char 1)"),
        # An empty field is no field: a rule not given is read as empty.
        ({"preset": "json", "rule": " "}, EMPTY_JSON),
        ({"preset": "json"}, EMPTY_JSON),
        ({"preset": "json", "rule": "[]"}, "rule: Must be an object."),
        (
            {"preset": "json", "rule": '{"effect": {"type": "error", "status": 200}}'},
            "effect.status: Must be greater than or equal to 400 and less than or equal to 599.",
        ),
        ({"preset": "delay", "ms": "99999"}, "effect.ms: Must be greater than or equal to 0 and less than or equal to 25000."),
        (
            {"preset": "delay", "path": "("},
            "match.path: Not a valid regular expression: missing ), unterminated subpattern at position 0.; "
            "effect.ms: Missing data for required field.",
        ),
        ({"preset": "bogus"}, "preset: Must be one of: close503, delay, drop, json."),
    ],
)
def test_an_invalid_rule_is_a_400_naming_the_field_and_keeps_the_form(console, form, message):
    response = console.post("/faults", form)
    assert response.status_code == 400
    assert f'<p class="error" role="alert">{escape(message)}</p>' in response.data.decode()
    assert "No fault rule" in response.data.decode()


def test_an_invalid_rule_keeps_what_was_typed(console):
    page = console.post("/faults", {"preset": "delay", "ms": "99999", "path": "/x$"}).data.decode()
    assert '<input type="number" name="ms" min="0" max="25000" value="99999" required>' in page
    assert '<input name="path" value="/x$">' in page


def test_the_503_preset_says_which_path_it_matches(console):
    assert "POST on <code>^/api/now(/v1)?/interaction/[^/]+/close$</code>" in console.get("/faults")


def test_delete_all_rules(console):
    for _ in range(2):
        console.post("/faults", {"preset": "close503", "times": "1"})
    assert console.post("/faults/delete").status_code == 303
    assert "Every fault rule is deleted." in console.get("/faults?done=faults-deleted")
    assert "No fault rule" in console.get("/faults")


# --- reset and CSRF --------------------------------------------------------


def test_reset_asks_for_confirmation_then_resets(console, api, runner):
    runner.invoke(args=["user", "add", "dave", "--password", "pw"])
    api.created()
    choice = console.get("/reset")
    assert 'name="scope" value="interactions"' in choice and 'method="post"' not in choice
    confirm = console.get("/reset?scope=all")
    assert "<b>1</b> interactions" in confirm and "<b>1</b> users" in confirm
    assert 'method="post" action="/__stand_in/console/reset"' in confirm
    done = console.post("/reset", {"scope": "interactions"})
    assert done.status_code == 303
    assert done.headers["Location"].endswith("/?done=reset-interactions")
    assert numbers(console.get("/")) == []
    assert api.created()["number"] == "IMS0000001"
    assert "scope: Must be one of" in console.get("/reset?scope=some", status=400)


def test_a_reset_without_a_valid_token_is_refused_and_deletes_nothing(console, api, app):
    api.created()
    detail = "The form's token is missing or out of date: reload the page and send the form again"
    with app.test_request_context():
        issued = int(time.time())
        mac = csrf._mac("admin", issued)
        forged = f"{issued}.{'0' * 64}"
        stale = f"{issued - csrf.MAX_AGE_SECONDS - 1}.{csrf._mac('admin', issued - csrf.MAX_AGE_SECONDS - 1)}"
    malformed = [
        ".abc",
        "12a.abc",
        f"{issued}.{mac}.",
        # Digits to str.isdigit, yet not to int(); a time beyond any float.
        "\u00b2\u00b3.abc",
        f"{'9' * 400}.{mac}",
        # A MAC hmac.compare_digest cannot compare.
        f"{issued}.{mac[:-1]}\u00e9",
    ]
    for token in ["", "abc", forged, stale, *malformed]:
        response = console.client.post(
            CONSOLE + "/reset", data={"scope": "all", "csrf_token": token}, headers=console.headers
        )
        assert response.status_code == 403, token
        assert f'<p class="error">{escape(detail)}</p>' in response.data.decode()
    assert len(numbers(console.get("/"))) == 1


def test_a_token_is_good_on_any_worker_for_its_user_only_and_dies_with_a_new_password(console, runner, carol):
    token = console.token()
    # Another app on the same database stands for another worker or host.
    assert csrf.valid("admin", token)
    assert not csrf.valid("carol", token)
    runner.invoke(args=["user", "passwd", "admin", "--password", "new-pw"])
    assert not csrf.valid("admin", token)


def test_a_token_binds_its_time_and_its_own_users_password(console, app, runner, carol):
    token = console.token()
    issued, mac = token.split(".")
    assert not csrf.valid("admin", f"{int(issued) - 1}.{mac}")
    with app.app_context():
        carols = f"{issued}.{csrf._mac('carol', int(issued))}"
    assert csrf.valid("carol", carols)
    runner.invoke(args=["user", "passwd", "carol", "--password", "new-pw"])
    assert not csrf.valid("carol", carols)
    assert csrf.valid("admin", token)


def test_a_token_is_good_from_a_minute_ahead_to_twelve_hours_old(app, monkeypatch):
    now = 1_800_000_000
    monkeypatch.setattr(csrf.time, "time", lambda: now)
    with app.app_context():
        for issued, good in ((now - 43_200, True), (now - 43_201, False), (now + 60, True), (now + 61, False)):
            assert csrf.valid("admin", f"{issued}.{csrf._mac('admin', issued)}") is good, issued


def test_the_confirmation_counts_what_a_reset_would_delete(console, api, runner):
    for name in ("dave", "erin"):
        runner.invoke(args=["user", "add", name, "--password", "pw"])
    api.created()
    api.created()
    assert console.post("/faults", {"preset": "close503", "times": "1"}).status_code == 303
    everything = console.get("/reset?scope=all")
    for count, what in ((2, "interactions"), (2, "journal entries"), (1, "fault rules"), (2, "users")):
        assert f"<b>{count}</b> {what}" in everything, what
    interactions_only = console.get("/reset?scope=interactions")
    assert "<b>2</b> interactions" in interactions_only and "</b> users</li>" not in interactions_only

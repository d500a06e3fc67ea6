"""Seed, snapshot and SEED_FILE (TEST_SUPPORT.md §5)."""
import json
from datetime import datetime

import pytest

from conftest import ADMIN_PASSWORD, CHANNEL, QUEUE, basic, failure

SYS_ID = "0123456789abcdef0123456789abcdef"
OTHER = "fedcba9876543210fedcba9876543210"
ADMIN_SYS_ID = "6816f79cc0a8016401c5a33be04be441"
NO_TABLES = {"interaction": [], "interaction_json_blob": [], "live_group_profile": []}
# An interaction's row with only the columns that have no default.
BARE = {"sys_id": SYS_ID, "number": "IMS0000007", "state": "new", "channel": CHANNEL}


def seed(client, headers, body):
    return client.post("/__stand_in/seed", json=body, headers=headers)


def table(client, headers, sys_id):
    """An interaction and its documents, as a snapshot shows them."""
    tables = client.get("/__stand_in/snapshot", headers=headers).json["tables"]
    [row] = [r for r in tables["interaction"] if r["sys_id"] == sys_id]
    documents = {
        name: next(d["value"] for d in tables[row[f"{name}_table"]] if d["sys_id"] == row[f"{name}_document"])
        for name in ("context", "channel_metadata")
    }
    return row, documents


def test_seed_creates_users_and_interactions_keeping_sys_ids_and_numbers(client, admin_auth):
    response = seed(
        client,
        admin_auth,
        {
            "users": [{"user_name": "svc", "password": "svc-pw"}, {"user_name": "ops", "password": "ops-pw", "admin": True}],
            "interactions": [
                {"channel": CHANNEL},
                {"sys_id": SYS_ID, "number": "IMS0000041", "channel": CHANNEL, "queue": QUEUE, "context": {"k": "v"}},
                {"channel": CHANNEL, "state": "closed_complete", "short_description": "done"},
            ],
        },
    )
    assert response.status_code == 201, response.data
    result = response.json["result"]
    assert len(result["users"]) == 2 and len(result["interactions"]) == 3
    assert result["interactions"][1] == SYS_ID
    row, documents = table(client, admin_auth, SYS_ID)
    assert (row["number"], row["state"], row["queue"]) == ("IMS0000041", "queued", QUEUE)
    assert documents == {"context": '{"k":"v"}', "channel_metadata": "{}"}
    first, _ = table(client, admin_auth, result["interactions"][0])
    closed, _ = table(client, admin_auth, result["interactions"][2])
    # The counter moved past the number given before the others were numbered.
    assert (first["number"], closed["number"]) == ("IMS0000042", "IMS0000043")
    assert closed["closed_by"] == "6816f79cc0a8016401c5a33be04be441" and closed["closed_at"]
    created = client.post("/api/now/interaction", json={"channel": CHANNEL}, headers=basic("svc", "svc-pw"))
    assert created.json["result"]["number"] == "IMS0000044"
    assert client.get("/__stand_in/faults", headers=basic("ops", "ops-pw")).status_code == 200
    assert client.get("/__stand_in/faults", headers=basic("svc", "svc-pw")).status_code == 403


@pytest.mark.parametrize(
    "body, detail",
    [
        ({"users": [{"user_name": "admin", "password": "x"}]}, "Nothing was created: user_name admin exists"),
        ({"interactions": [{"channel": CHANNEL, "number": "IMS0000001"}]}, "Nothing was created: number IMS0000001 exists"),
        ({"interactions": [{"channel": CHANNEL, "sys_id": SYS_ID}]}, f"Nothing was created: sys_id {SYS_ID} exists"),
        (
            {"users": [{"user_name": "a", "password": "x"}, {"user_name": "a", "password": "y"}]},
            "Nothing was created: user_name a is given twice",
        ),
        (
            {"interactions": [{"channel": CHANNEL, "sys_id": OTHER, "number": "IMS0000009"}, {"channel": CHANNEL, "sys_id": OTHER, "number": "IMS0000009"}]},
            f"Nothing was created: sys_id {OTHER} is given twice; number IMS0000009 is given twice",
        ),
        (
            {"users": [{"user_name": "admin", "password": "x"}], "interactions": [{"channel": CHANNEL, "sys_id": SYS_ID, "number": "IMS0000001"}]},
            f"Nothing was created: user_name admin exists; sys_id {SYS_ID} exists; number IMS0000001 exists",
        ),
    ],
)
def test_a_clash_is_a_409_and_nothing_is_created(client, admin_auth, body, detail):
    assert seed(client, admin_auth, {"interactions": [{"channel": CHANNEL, "sys_id": SYS_ID}]}).status_code == 201
    before = client.get("/__stand_in/snapshot", headers=admin_auth).json
    response = seed(client, admin_auth, {**body, "interactions": body.get("interactions", []) + [{"channel": CHANNEL}]})
    assert (response.status_code, response.json) == (409, failure("Conflict", detail))
    assert client.get("/__stand_in/snapshot", headers=admin_auth).json == before


def test_a_seed_that_clashes_with_nothing_goes_in_beside_what_exists(client, admin_auth):
    assert seed(client, admin_auth, {"interactions": [{"channel": CHANNEL, "sys_id": SYS_ID}]}).status_code == 201
    response = seed(client, admin_auth, {"interactions": [{"channel": CHANNEL, "sys_id": OTHER, "number": "IMS0000009"}]})
    assert (response.status_code, response.json) == (201, {"result": {"users": [], "interactions": [OTHER], "oauth_clients": []}})


def test_a_clash_the_check_missed_is_a_409_all_the_same(client, admin_auth, monkeypatch):
    """A row written between the check and the transaction: the database refuses it."""
    from app.stand_in import seeding

    seed(client, admin_auth, {"interactions": [{"channel": CHANNEL, "sys_id": SYS_ID}]})
    before = client.get("/__stand_in/snapshot", headers=admin_auth).json
    monkeypatch.setattr(seeding, "_refuse_clashes", lambda data: None)
    response = seed(client, admin_auth, {"interactions": [{"channel": CHANNEL}, {"channel": CHANNEL, "sys_id": SYS_ID}]})
    assert (response.status_code, response.json["error"]["message"]) == (409, "Conflict")
    assert response.json["error"]["detail"].startswith("Nothing was created: ")
    assert client.get("/__stand_in/snapshot", headers=admin_auth).json == before


def test_a_number_given_never_moves_the_counter_back_nor_another_prefixs(client, admin_auth):
    for number in ("IMS0000050", "IMS0000010", "TASK0000099"):
        assert seed(client, admin_auth, {"interactions": [{"channel": CHANNEL, "number": number}]}).status_code == 201
    created = client.post("/api/now/interaction", json={"channel": CHANNEL}, headers=admin_auth)
    assert created.json["result"]["number"] == "IMS0000051"


def test_the_documents_of_a_seeded_interaction_are_written_by_its_user_at_its_time(client, admin_auth, monkeypatch):
    from app.stand_in import seeding

    # A clock stopped in the past: a time of the documents' own would differ from it.
    monkeypatch.setattr(seeding, "utcnow", lambda: datetime(2026, 1, 2, 3, 4, 5))
    seed(client, admin_auth, {"interactions": [{"channel": CHANNEL, "sys_id": SYS_ID}]})
    tables = client.get("/__stand_in/snapshot", headers=admin_auth).json["tables"]
    [row] = tables["interaction"]
    assert (row["sys_created_on"], row["sys_updated_on"]) == ("2026-01-02 03:04:05",) * 2
    for name in ("interaction_json_blob", "live_group_profile"):
        [document] = tables[name]
        assert (document["sys_created_by"], document["sys_updated_by"]) == ("admin", "admin")
        assert (document["sys_created_on"], document["sys_updated_on"]) == ("2026-01-02 03:04:05",) * 2


@pytest.mark.parametrize(
    "body, message",
    [
        ({"users": [{"user_name": "a:b", "password": "x"}]}, "users.0.user_name: Must be 1 to 40 printable characters, without ':'."),
        ({"users": [{"user_name": "a"}]}, "users.0.password: Missing data for required field."),
        ({"interactions": [{}]}, "interactions.0.channel: Missing data for required field."),
        ({"interactions": [{"channel": CHANNEL, "state": "gone"}]}, "interactions.0.state: Must be one of: new, queued, work_in_progress, on_hold, wrap_up, closed_complete, closed_abandoned."),
        ({"interactions": [{"channel": CHANNEL, "sys_id": "x"}]}, "interactions.0.sys_id: Must be 32 hex digits."),
        ({"interactions": [{"channel": CHANNEL, "context": []}]}, "interactions.0.context: Not a valid mapping type."),
        ({"groups": []}, "groups: Unknown field."),
        ({"interactions": [{"channel": CHANNEL, "number": "IMS\x00"}]}, "interactions.0.number: Must not contain control characters."),
        ({"interactions": [{"channel": "a\x00b"}]}, "interactions.0.channel: Must not contain control characters."),
        ({"interactions": [{"channel": CHANNEL, "opened_for": "a\x00b"}]}, "interactions.0.opened_for: Must not contain control characters."),
        ({"interactions": [{"channel": CHANNEL, "short_description": "a\x1bb"}]}, "interactions.0.short_description: Must not contain control characters."),
    ],
)
def test_an_invalid_seed_is_a_400_naming_the_field(client, admin_auth, body, message):
    response = seed(client, admin_auth, body)
    assert (response.status_code, response.json) == (400, failure(message))


def test_a_snapshot_goes_out_and_back_in_and_holds_no_password_hash(client, admin_auth):
    seed(client, admin_auth, {"users": [{"user_name": "svc", "password": "svc-pw"}],
                              "interactions": [{"channel": CHANNEL, "context": {"a": 1}}, {"channel": CHANNEL}]})  # fmt: skip
    response = client.get("/__stand_in/snapshot", headers=admin_auth)
    assert response.status_code == 200
    document = response.json
    text = response.get_data(as_text=True)
    assert "password" not in text and "svc-pw" not in text and ADMIN_PASSWORD not in text
    assert document["format"] == 1
    assert [u["user_name"] for u in document["users"]] == ["admin", "svc"]
    assert sorted(document["tables"]) == [
        "customer_contact", "incident", "interaction", "interaction_json_blob", "interaction_related_record",
        "live_group_profile", "sys_attachment", "sys_attachment_doc",
    ]  # fmt: skip
    assert document["declarations"] == []
    assert len(document["tables"]["interaction"]) == 2
    client.post("/api/now/interaction", json={"channel": CHANNEL}, headers=admin_auth)
    restored = client.post("/__stand_in/snapshot", json=document, headers=admin_auth)
    assert (restored.status_code, restored.json) == (
        200,
        {"result": {"restored": {"interaction": 2, "interaction_json_blob": 2, "live_group_profile": 2,
                                 "customer_contact": 0, "incident": 0, "interaction_related_record": 0,
                                 "sys_attachment": 0, "sys_attachment_doc": 0}}},
    )
    assert client.get("/__stand_in/snapshot", headers=admin_auth).json == document
    # Numbering goes on after the highest number restored.
    again = client.post("/api/now/interaction", json={"channel": CHANNEL}, headers=admin_auth)
    assert again.json["result"]["number"] == "IMS0000003"


@pytest.mark.parametrize(
    "document, message",
    [
        ({}, "format: Missing data for required field.; tables: Missing data for required field."),
        (
            {"format": 2, "tables": {"interaction": [], "interaction_json_blob": [], "live_group_profile": []}},
            "format: Must be equal to 1.",
        ),
        (
            {"format": 1, "tables": {"interaction": [], "interaction_json_blob": []}},
            "tables.live_group_profile: Missing data for required field.",
        ),
        ({"format": "1", "tables": NO_TABLES}, "format: Not a valid integer."),
        (
            {"format": 1, "tables": {**NO_TABLES, "interaction": [{**BARE, "sys_mod_count": "3", "queue": "q" * 33, "opened_at": "2026-11-01T10:00:00"}]}},
            "tables.interaction.0.sys_mod_count: Not a valid integer.; "
            "tables.interaction.0.queue: Longer than maximum length 32.; "
            "tables.interaction.0.opened_at: Not a valid datetime.",
        ),
        (
            {"format": 1, "tables": {"interaction": [{"sys_id": "x"}], "interaction_json_blob": [], "live_group_profile": []}},
            "tables.interaction.0.number: Missing data for required field.; "
            "tables.interaction.0.state: Missing data for required field.; "
            "tables.interaction.0.channel: Missing data for required field.",
        ),
    ],
)
def test_a_body_that_is_no_snapshot_is_a_400_and_changes_nothing(client, admin_auth, document, message):
    seed(client, admin_auth, {"interactions": [{"channel": CHANNEL}]})
    before = client.get("/__stand_in/snapshot", headers=admin_auth).json
    response = client.post("/__stand_in/snapshot", json=document, headers=admin_auth)
    assert (response.status_code, response.json) == (400, failure(message))
    assert client.get("/__stand_in/snapshot", headers=admin_auth).json == before


def test_a_snapshot_row_without_the_columns_that_have_defaults_gets_them(client, admin_auth):
    restored = client.post("/__stand_in/snapshot", json={"format": 1, "tables": {**NO_TABLES, "interaction": [BARE]}}, headers=admin_auth)
    assert restored.status_code == 200, restored.data
    [row] = client.get("/__stand_in/snapshot", headers=admin_auth).json["tables"]["interaction"]
    assert row["opened_at"] == row["sys_created_on"] == row["sys_updated_on"]
    assert row == {
        **BARE,
        "sys_created_on": row["sys_created_on"],
        "sys_created_by": "",
        "sys_updated_on": row["sys_updated_on"],
        "sys_updated_by": "",
        "sys_mod_count": 0,
        "queue": "",
        "short_description": "",
        "context_table": "",
        "context_document": "",
        "channel_metadata_table": "",
        "channel_metadata_document": "",
        "opened_by": "",
        "opened_for": "",
        "assigned_to": "",
        "closed_by": "",
        "opened_at": row["opened_at"],
        "closed_at": None,
    }
    created = client.post("/api/now/interaction", json={"channel": CHANNEL}, headers=admin_auth)
    assert created.json["result"]["number"] == "IMS0000008"


def test_an_empty_snapshot_starts_numbering_again(client, admin_auth):
    seed(client, admin_auth, {"interactions": [{"channel": CHANNEL}]})
    restored = client.post("/__stand_in/snapshot", json={"format": 1, "tables": NO_TABLES}, headers=admin_auth)
    assert restored.status_code == 200, restored.data
    created = client.post("/api/now/interaction", json={"channel": CHANNEL}, headers=admin_auth)
    assert created.json["result"]["number"] == "IMS0000001"


def test_a_snapshot_lists_users_by_name_and_records_by_sys_id(client, admin_auth):
    names = ["zoe", "yann", "xia", "walt", "vera", "ugo"]
    seed(client, admin_auth, {"users": [{"user_name": name, "password": "pw"} for name in names],
                              "interactions": [{"channel": CHANNEL} for _ in names]})  # fmt: skip
    document = client.get("/__stand_in/snapshot", headers=admin_auth).json
    assert [user["user_name"] for user in document["users"]] == ["admin", *sorted(names)]
    for rows in document["tables"].values():
        assert [row["sys_id"] for row in rows] == sorted(row["sys_id"] for row in rows)


def test_a_snapshot_with_a_sys_id_twice_is_a_400_and_changes_nothing(client, admin_auth):
    seed(client, admin_auth, {"interactions": [{"channel": CHANNEL}]})
    before = client.get("/__stand_in/snapshot", headers=admin_auth).json
    document = json.loads(json.dumps(before))
    document["tables"]["interaction_json_blob"] *= 2
    response = client.post("/__stand_in/snapshot", json=document, headers=admin_auth)
    assert response.status_code == 400
    assert response.json["error"]["message"] == "Invalid snapshot: nothing was changed"
    # The database's own words, first line: SQLite's and PostgreSQL's both name the table.
    detail = response.json["error"]["detail"]
    assert "interaction_json_blob" in detail and "\n" not in detail
    assert client.get("/__stand_in/snapshot", headers=admin_auth).json == before


def test_a_snapshot_of_more_rows_than_one_insert_takes_is_restored_whole(client, admin_auth):
    # Rows go in 500 to an INSERT: 501 take two.
    rows = [{**BARE, "sys_id": f"{i:032x}", "number": f"IMS{i:07d}"} for i in range(501)]
    document = {"format": 1, "tables": {**NO_TABLES, "interaction": rows}}
    restored = client.post("/__stand_in/snapshot", json=document, headers=admin_auth)
    assert (restored.status_code, restored.json["result"]["restored"]["interaction"]) == (200, 501)
    shown = client.get("/__stand_in/snapshot", headers=admin_auth).json["tables"]["interaction"]
    assert [row["number"] for row in shown] == [row["number"] for row in rows]


def test_seed_file_is_applied_once_when_the_database_is_new(make_app, tmp_path, admin_auth):
    path = tmp_path / "seed.json"
    path.write_text(json.dumps({"users": [{"user_name": "svc", "password": "pw"}],
                                "interactions": [{"channel": CHANNEL, "number": "IMS0000100"}]}))  # fmt: skip
    url = f"sqlite:///{tmp_path / 'seeded.sqlite3'}"
    client = make_app(DATABASE_URL=url, SEED_FILE=str(path)).test_client()
    [row] = client.get("/__stand_in/snapshot", headers=admin_auth).json["tables"]["interaction"]
    assert (row["opened_by"], row["sys_created_by"]) == (ADMIN_SYS_ID, "admin")
    numbers = lambda c: [r["number"] for r in c.get("/__stand_in/snapshot", headers=admin_auth).json["tables"]["interaction"]]  # noqa: E731
    assert numbers(client) == ["IMS0000100"]
    # A restart on the same database does not seed again.
    client = make_app(DATABASE_URL=url, SEED_FILE=str(path)).test_client()
    assert numbers(client) == ["IMS0000100"]
    assert client.post("/api/now/interaction", json={"channel": CHANNEL}, headers=basic("svc", "pw")).status_code == 201


def test_a_bad_seed_file_stops_the_start_saying_why(make_app, tmp_path):
    path = tmp_path / "seed.json"
    path.write_text('{"users": [{"user_name": "svc"}]}')
    with pytest.raises(RuntimeError, match=r"^SEED_FILE .*seed.json: users.0.password: Missing data for required field.$"):
        make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'x.sqlite3'}", SEED_FILE=str(path))
    # A file whose body is no object: the message is marshmallow's, with no field to name.
    path.write_text("[]")
    with pytest.raises(RuntimeError, match=r"^SEED_FILE .*seed.json: Invalid input type.$"):
        make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'v.sqlite3'}", SEED_FILE=str(path))
    path.write_text("{")
    with pytest.raises(RuntimeError, match=r"^SEED_FILE .*seed.json: unexpected end of data"):
        make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'y.sqlite3'}", SEED_FILE=str(path))
    path.write_bytes(b'{"users": [{"user_name": "\xff"}]}')
    with pytest.raises(RuntimeError, match=r"^SEED_FILE .*seed.json: str is not valid UTF-8"):
        make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'w.sqlite3'}", SEED_FILE=str(path))
    with pytest.raises(RuntimeError, match=r"^SEED_FILE .*missing.json: \[Errno 2\] No such file or directory"):
        make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'z.sqlite3'}", SEED_FILE=str(tmp_path / "missing.json"))

"""The declarations by themselves (TABLES.md §1, §3): every kind, bad names,
clashes, retyping, redeclaring a built-in table; and the built-in tables'
declarations against the columns that store them."""
import pytest

from app.records import catalog, declarations
from app.records.errors import DeclarationConflict, InvalidDeclaration

EVERY_KIND = {
    "name": "u_every_kind",
    "label": "Every kind",
    "fields": {
        "u_text": {"type": "string", "max_length": 40, "index": True, "default": "none"},
        "u_long": {"type": "string", "max_length": 8000},
        "u_count": {"type": "integer", "default": 0},
        "u_flag": {"type": "boolean", "default": True},
        "u_when": {"type": "glide_date_time"},
        "u_pick": {"type": "choice", "choices": [{"value": "a", "label": "Alpha"}, "b"], "default": "b"},
        "u_user": {"type": "reference", "reference": "sys_user"},
        "u_table": {"type": "table_name"},
        "u_document": {"type": "document_id"},
    },
}


def test_every_kind_is_declared_with_its_defaults_filled_in():
    checked = declarations.check(EVERY_KIND)
    assert checked["display"] == "sys_id"
    assert checked["fields"]["u_text"] == {"type": "string", "max_length": 40, "index": True, "default": "none", "label": ""}
    assert checked["fields"]["u_pick"]["choices"] == [{"value": "a", "label": "Alpha"}, {"value": "b", "label": "b"}]
    assert "max_length" not in checked["fields"]["u_user"]
    # A document_id names the table_name field of its record: the only one.
    assert checked["fields"]["u_document"]["table"] == "u_table"
    table = declarations.to_table(checked)
    assert [f.name for f in table.fields][:3] == ["sys_id", "u_text", "u_long"]
    assert {f.name: f.kind for f in table.fields}["u_when"] == "glide_date_time"
    columns = {field.name: type(field).__name__ for field in table.model._meta.sorted_fields}
    assert columns["u_long"] == "TextField" and columns["u_text"] == "CharField" and columns["u_count"] == "BigIntegerField"
    assert table.model.u_user.index and table.model.u_text.index and not table.model.u_count.index


def test_a_number_adds_its_field_and_is_the_display_field_by_default():
    checked = declarations.check({"name": "x_acme_log", "number": {"field": "u_number", "prefix": "LOG"}, "fields": {}})
    assert checked["number"] == {"field": "u_number", "prefix": "LOG", "digits": 7, "first": 1}
    assert checked["display"] == "u_number"
    table = declarations.to_table(checked)
    assert table.field("u_number").writable is False
    assert table.model.u_number.unique
    assert table.number.format(42) == "LOG0000042"


def invalid(declaration, message):
    with pytest.raises(InvalidDeclaration) as raised:
        declarations.check(declaration)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    "declaration, message",
    [
        ([], "A declaration is a JSON object."),
        ({"fields": {}}, "name: Missing data for required field."),
        ({"name": "u_x"}, "fields: Missing data for required field."),
        ({"name": "u_x", "fields": {}, "colour": "red"}, "colour: Unknown field."),
        ({"name": 7, "fields": {}}, "name: Not a valid string."),
        ({"name": "my_table", "fields": {}}, "name: 'my_table' is no table name of the user's own: u_… or x_<scope>_…, up to 63 of a-z, 0-9 and _."),
        ({"name": "U_Table", "fields": {}}, "name: 'U_Table' is no table name of the user's own: u_… or x_<scope>_…, up to 63 of a-z, 0-9 and _."),
        ({"name": "x_acme", "fields": {}}, "name: 'x_acme' is no table name of the user's own: u_… or x_<scope>_…, up to 63 of a-z, 0-9 and _."),
        ({"name": "u_" + "a" * 62, "fields": {}}, "name: Length must be between 1 and 63."),
        ({"name": "u_a\x00", "fields": {}}, "name: Must not contain control characters."),
        ({"name": "u_a\nb", "fields": {}}, "name: Must not contain control characters."),
        ({"name": "u_x", "fields": {"U x": {"type": "string"}}}, "fields: 'U x' is no field name: up to 63 of a-z, 0-9 and _, starting with a letter."),
        ({"name": "u_x", "fields": {"a\x07": {"type": "string"}}}, "fields: 'a\\x07' is no field name: up to 63 of a-z, 0-9 and _, starting with a letter."),
        ({"name": "u_x", "fields": {"sys_id": {"type": "string"}}}, "fields: 'sys_id': a field's name never starts with sys_."),
        ({"name": "u_x", "fields": {"save": {"type": "string"}}}, "fields: 'save' is a reserved name."),
        ({"name": "u_x", "fields": {"a": "string"}}, "fields.a: Must be an object."),
        ({"name": "u_x", "fields": {"a": {}}}, "fields.a.type: Missing data for required field."),
        ({"name": "u_x", "fields": {"a": {"type": "float"}}},
         "fields.a.type: Must be one of: string, integer, boolean, glide_date_time, choice, reference, table_name, document_id."),
        ({"name": "u_x", "fields": {"a": {"type": "string", "max_length": 0}}}, "fields.a.max_length: Must be greater than or equal to 1 and less than or equal to 65536."),
        ({"name": "u_x", "fields": {"a": {"type": "integer", "max_length": 10}}}, "fields.a.max_length: Only a field of type string or choice takes one."),
        ({"name": "u_x", "fields": {"a": {"type": "reference"}}}, "fields.a.reference: Missing data for required field."),
        ({"name": "u_x", "fields": {"a": {"type": "string", "reference": "sys_user"}}}, "fields.a.reference: Only a field of type reference takes one."),
        ({"name": "u_x", "fields": {"a": {"type": "choice"}}}, "fields.a.choices: Missing data for required field."),
        ({"name": "u_x", "fields": {"a": {"type": "choice", "choices": []}}}, "fields.a.choices: Length must be between 1 and 500."),
        ({"name": "u_x", "fields": {"a": {"type": "choice", "choices": [3]}}}, "fields.a.choices.0: Must be a value or an object with a value and a label."),
        ({"name": "u_x", "fields": {"a": {"type": "choice", "choices": ["a"], "default": "b"}}}, "fields.a.default: Must be one of the choices."),
        ({"name": "u_x", "fields": {"a": {"type": "integer", "default": "0"}}}, "fields.a.default: Must be an integer, as the field's type."),
        ({"name": "u_x", "fields": {"a": {"type": "boolean", "default": 1}}}, "fields.a.default: Must be true or false, as the field's type."),
        ({"name": "u_x", "fields": {"a": {"type": "glide_date_time", "default": "2026-01-01"}}}, "fields.a.default: A field of type glide_date_time takes no default."),
        ({"name": "u_x", "fields": {"a": {"type": "string", "max_length": 3, "default": "long"}}}, "fields.a.default: Must be printable and no longer than the field."),
        ({"name": "u_x", "fields": {"a": {"type": "string", "index": "yes"}}}, "fields.a.index: Not a valid boolean."),
        ({"name": "u_x", "fields": {"a": {"type": "document_id"}}}, "fields.a.table: Must name the table_name field that names the record's table."),
        ({"name": "u_x", "fields": {"a": {"type": "document_id", "table": "b"}, "b": {"type": "string"}}}, "fields.a.table: 'b' is no table_name field of this table."),
        ({"name": "u_x", "display": "u_nothing", "fields": {}}, "display: 'u_nothing' is no field of this table."),
        ({"name": "u_x", "number": {"field": "u_n", "prefix": "inc"}, "fields": {}}, "number.prefix: Must be 1 to 10 capital letters."),
        ({"name": "u_x", "number": {"field": "u_n", "prefix": "N"}, "fields": {"u_n": {"type": "integer"}}}, "number.field: u_n is of type integer, not string."),
        ({"name": "u_x", "fields": {f"f{n}": {"type": "string"} for n in range(201)}}, "fields: At most 200 fields, not 201."),
    ],
)  # fmt: skip
def test_a_bad_declaration_says_what_is_wrong(declaration, message):
    invalid(declaration, message)


@pytest.mark.parametrize("name", sorted(catalog.BUILTIN))
def test_a_built_in_table_cannot_be_declared_again(name):
    with pytest.raises(DeclarationConflict) as raised:
        declarations.check({"name": name, "fields": {}})
    assert str(raised.value) == f"Table {name} is built in: it cannot be declared."


def test_a_later_declaration_adds_fields_and_never_retypes_one():
    first = declarations.check({"name": "u_log", "fields": {"u_a": {"type": "string"}}})
    later = declarations.check({"name": "u_log", "label": "Log", "fields": {"u_a": {"type": "string", "max_length": 9}, "u_b": {"type": "integer"}}})
    merged = declarations._merged(first, later)
    # The field already there stays as it was; the new one is added.
    assert merged["fields"] == {"u_a": first["fields"]["u_a"], "u_b": later["fields"]["u_b"]}
    assert merged["label"] == "Log"
    with pytest.raises(DeclarationConflict) as raised:
        declarations._merged(merged, declarations.check({"name": "u_log", "fields": {"u_b": {"type": "string"}}}))
    assert str(raised.value) == "Field u_b of u_log is of type integer: it cannot become string."
    with pytest.raises(DeclarationConflict) as raised:
        declarations._merged(merged, declarations.check({"name": "u_log", "number": {"field": "u_n", "prefix": "L"}, "fields": {}}))
    assert str(raised.value) == "Table u_log is numbered as first declared: its number cannot change."


@pytest.mark.parametrize("table", list(catalog.BUILTIN.values()), ids=list(catalog.BUILTIN))
def test_every_built_in_field_has_its_column_and_its_display_field_exists(table):
    columns = {field.name for field in table.model._meta.sorted_fields}
    stored = {f.name for f in table.fields if not f.write_only}
    assert stored <= columns
    assert table.field(table.display_field) is not None
    for field in table.references:
        assert field.reference in catalog.BUILTIN

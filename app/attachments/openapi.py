"""The Attachment API's part of the OpenAPI document."""
_MEDIA_TYPES = ("application/json", "application/xml", "text/xml")
_OWN_ERRORS = {
    "400": "A missing table_name, table_sys_id or file_name; a table not served or a record that does not exist; a raw upload without a Content-Type; a malformed multipart body or one without a file part",
    "404": "No attachment with this sys_id",
    "405": "A method the route does not take",
    "413": "A file over ATTACHMENT_MAX_BYTES (64 MiB by default)",
    "415": "An upload body that is not multipart/form-data",
}
_METADATA_FIELDS = (
    "sys_id", "file_name", "content_type", "size_bytes", "table_name", "table_sys_id", "hash", "sys_created_on",
    "sys_created_by", "sys_updated_on", "sys_updated_by", "sys_mod_count", "size_compressed", "compressed",
    "download_link", "image_width", "image_height", "average_image_color", "sys_tags", "created_by_name", "updated_by_name",
)


def _parameter(name, description, where="query", required=False, schema=None):
    return {"name": name, "in": where, "required": required, "description": description, "schema": schema or {"type": "string"}}


def _content(schema):
    return {media_type: {"schema": {"$ref": f"#/components/schemas/{schema}"}} for media_type in _MEDIA_TYPES}


def add_to(spec, transaction_header, errors):
    spec.components.schema(
        "AttachmentMetadata", {"type": "object", "properties": {name: {"type": "string"} for name in _METADATA_FIELDS}}
    )
    spec.components.schema(
        "AttachmentEnvelope", {"type": "object", "required": ["result"], "properties": {"result": {"$ref": "#/components/schemas/AttachmentMetadata"}}}
    )
    spec.components.schema(
        "AttachmentListEnvelope",
        {"type": "object", "required": ["result"], "properties": {"result": {"type": "array", "items": {"$ref": "#/components/schemas/AttachmentMetadata"}}}},
    )
    failures = {
        status: {"description": text, "headers": transaction_header, "content": _content("ErrorEnvelope")}
        for status, text in sorted({**errors, **_OWN_ERRORS}.items())
    }
    location = {"Location": {"description": "The file's URL", "schema": {"type": "string"}}}

    def operation(summary, status, description, content=None, parameters=(), body=None, headers=None):
        success = {"description": description, "headers": {**transaction_header, **(headers or {})}}
        if content:
            success["content"] = content
        answer = {"summary": summary, "security": [{"basicAuth": []}], "parameters": list(parameters), "responses": {status: success, **failures}}
        if body:
            answer["requestBody"] = body
        return answer

    sys_id = _parameter("sys_id", "The attachment's sys_id", where="path", required=True)
    target = [
        _parameter("table_name", "The table of the record", required=True),
        _parameter("table_sys_id", "The record's sys_id", required=True),
    ]
    raw = {
        "required": True,
        "description": "The file; its Content-Type is the file's",
        "content": {media_type: {"schema": {"type": "string", "format": "binary"}} for media_type in ("application/octet-stream", "text/plain")},
    }
    form = {
        "required": True,
        "description": "table_name and table_sys_id fields, then the file part (any name)",
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["table_name", "table_sys_id", "file"],
                    "properties": {"table_name": {"type": "string"}, "table_sys_id": {"type": "string"}, "file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
    list_parameters = [
        _parameter("sysparm_query", "An encoded query over the attachments' metadata"),
        _parameter("sysparm_limit", "Attachments per page, 1000 unless given", schema={"type": "integer", "minimum": 0}),
        _parameter("sysparm_offset", "The first attachment, from 0", schema={"type": "integer", "minimum": 0}),
    ]
    list_headers = {
        "X-Total-Count": {"description": "Attachments matching over all pages", "schema": {"type": "integer"}},
        "Link": {"description": "first, prev, next and last pages", "schema": {"type": "string"}},
    }
    for prefix in ("/api/now", "/api/now/v1"):
        base = f"{prefix}/attachment"
        spec.path(base, operations={"get": operation("List attachments", "200", "A page of metadata", _content("AttachmentListEnvelope"), list_parameters, headers=list_headers)})
        spec.path(
            f"{base}/file",
            operations={
                "post": operation(
                    "Attach a file sent as the body", "201", "Attached", _content("AttachmentEnvelope"),
                    [*target, _parameter("file_name", "The file's name", required=True)], raw, location,
                )
            },
        )
        spec.path(f"{base}/upload", operations={"post": operation("Attach a file sent as multipart/form-data", "201", "Attached", _content("AttachmentEnvelope"), body=form, headers=location)})
        spec.path(
            f"{base}/{{sys_id}}",
            operations={
                "get": operation("An attachment's metadata", "200", "The metadata", _content("AttachmentEnvelope"), [sys_id]),
                "delete": operation("Delete an attachment", "204", "Deleted", parameters=[sys_id]),
            },
        )
        spec.path(
            f"{base}/{{sys_id}}/file",
            operations={
                "get": operation(
                    "An attachment's file", "200", "The bytes, in the file's Content-Type",
                    {"*/*": {"schema": {"type": "string", "format": "binary"}}}, [sys_id],
                    headers={"X-Attachment-Metadata": {"description": "The metadata as JSON", "schema": {"type": "string"}}},
                )
            },
        )

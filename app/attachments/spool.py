"""An uploaded file read from the request a chunk at a time into a
temporary file on disk, never whole into memory; the first bytes kept for
the request journal. Over ATTACHMENT_MAX_BYTES: 413, nothing stored."""
import tempfile

from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import FormDataParser
from werkzeug.http import parse_options_header

from ..errors import APIError
from ..records.attachments import CHUNK_BYTES

# Fields of a multipart upload held in memory, and parts, at most: a form
# that names a table and a record needs few of either.
MAX_FORM_MEMORY = 64 * 1024
MAX_FORM_PARTS = 100


class Head:
    """A stream that keeps its first `keep` bytes (the journal's part of
    the body) and counts the rest."""

    def __init__(self, stream, keep):
        self._stream = stream
        self._keep = keep
        self.head = bytearray()
        self.read_bytes = 0

    def read(self, size=-1):
        data = self._stream.read(size)
        self.read_bytes += len(data)
        if len(self.head) < self._keep:
            self.head += data[: self._keep - len(self.head)]
        return data


def too_large(limit):
    return APIError(413, "Exception while reading request", f"The attachment is larger than {limit} bytes, the largest this service takes")


def raw(stream, limit):
    """The body as a temporary file: read in chunks, refused past `limit`."""
    spooled = tempfile.TemporaryFile()
    size = 0
    try:
        for chunk in iter(lambda: stream.read(CHUNK_BYTES), b""):
            size += len(chunk)
            if size > limit:
                raise too_large(limit)
            spooled.write(chunk)
    except RequestEntityTooLarge:
        spooled.close()
        raise too_large(limit) from None
    except BaseException:
        spooled.close()
        raise
    return spooled


def multipart(stream, content_type, content_length, limit):
    """(the form's fields, its first file part or None), parsed by
    werkzeug's own parser, the file spooled to disk past a small size.
    A malformed body is a 400; a file over `limit`, a 413."""
    mimetype, options = parse_options_header(content_type)
    if mimetype != "multipart/form-data":
        raise APIError(415, "Unsupported Media Type", f"Content-Type {mimetype or content_type!r} is not supported here; use multipart/form-data")
    parser = FormDataParser(max_form_memory_size=MAX_FORM_MEMORY, max_form_parts=MAX_FORM_PARTS, silent=False)
    try:
        _, form, files = parser.parse(stream, mimetype, content_length, options)
    except RequestEntityTooLarge:
        if stream.read_bytes > limit:
            raise too_large(limit) from None
        raise APIError(400, "Invalid multipart body", f"More than {MAX_FORM_PARTS} parts, or fields over {MAX_FORM_MEMORY} bytes") from None
    except ValueError as error:
        raise APIError(400, "Invalid multipart body", str(error) or "Unreadable multipart/form-data") from None
    file = next(iter(files.values()), None)
    if file is not None and _size(file) > limit:
        raise too_large(limit)
    return form, file


def _size(file: FileStorage):
    file.stream.seek(0, 2)
    size = file.stream.tell()
    file.stream.seek(0)
    return size

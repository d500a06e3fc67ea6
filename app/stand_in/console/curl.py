"""A journal entry as a curl command to send the request again."""
import shlex

# Headers curl sets itself, or that would be wrong on a request sent again.
_LEFT_OUT = frozenset(("host", "content-length", "connection", "transfer-encoding", "authorization", "cookie"))


def command(entry, base_url):
    """The command, one option a line. Basic credentials become
    `-u user:"$PASSWORD"`: the journal never held the password, and the
    shell fills it in from the environment."""
    request = entry["request"]
    url = base_url + entry["path"] + (f"?{entry['query']}" if entry["query"] else "")
    parts = ["curl", "-X", shlex.quote(entry["method"]), shlex.quote(url)]
    authorization = _header(request["headers"], "authorization")
    if authorization and authorization.lower().startswith("basic") and entry["user"]:
        parts += ["-u", shlex.quote(f"{entry['user']}:") + '"$PASSWORD"']
    for name, value in request["headers"].items():
        if name.lower() not in _LEFT_OUT:
            parts += ["-H", shlex.quote(f"{name}: {value}")]
    if request["body"]:
        parts += ["--data-binary", shlex.quote(request["body"])]
    lines = [" ".join(parts[:4])] + [" ".join(parts[i : i + 2]) for i in range(4, len(parts), 2)]
    return " \\\n  ".join(lines)


def _header(headers, name):
    return next((value for key, value in headers.items() if key.lower() == name), None)

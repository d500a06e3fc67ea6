"""Where the instructions of a request go, component by component, counted by
callgrind: `.venv/bin/python bench/components.py` (needs valgrind and gcc);
a Markdown table per path, in about three minutes for the six on two cores.
The options are bench/instructions.py's (--path, --root, --auth, ...), with
--few 20 and --many 120 by default.

Each path runs as in bench/instructions.py (the same child, requests, marks;
per request = the count of requests FEW + 1 to MANY / (MANY - FEW)), with
the functions of COMPONENTS wrapped before the app is made: each call goes
through a C function, compiled with gcc at run time, that calls it. Python
3.11 leaves no Python names in callgrind's output, but these functions are
symbols: what callgrind counts in one, calls included, is what its calls
cost. There is one per component and component it is called in
(component_auth_in_faults), so that a component's own share is exact: what
its symbols count, less what the symbols called within them count. A
component called again within itself is entered once. Calls into SQLite's C
(_sqlite3, libsqlite3 under it) come from the interpreter: callgrind keeps
them apart by their 40 callers (--separate-callers), and each counts for
the statements of the innermost component among them (for peewee's
execute_sql, which has a row, of the component that ran it). What no
component holds is Flask's (inside Flask.__call__), or the test client's and
the rest (outside it, with the WAL checkpoints of another thread): the rows
add up to the total. Each table ends with the total counted without the
wrappers (instructions.count).
"""
import functools
import importlib
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import instructions

# Each component: its row, and the functions whose calls are its own
# ("module:qualname"; one ending in "()" wraps the functions it returns). A
# view under flask-httpauth's login_required counts for its component, the
# decorator's glue around it for authentication.
# fmt: off
COMPONENTS = {
    "flask": ("Flask: contexts, dispatch, hooks, Response to WSGI (what the rows below leave)", ["flask.app:Flask.__call__"]),
    "werkzeug": ("werkzeug request object, URL adapter, URL match", [
        "flask.wrappers:Request.__init__", "flask.app:Flask.create_url_adapter", "werkzeug.routing.map:MapAdapter.match"]),
    "auth": ("authentication (auth.py, login_required's glue)", ["app.auth:request_user"]),
    "faults": ("fault check (stand_in/faults.py hooks)", ["app.stand_in.faults:check", "app.stand_in.faults:after", "app.stand_in.faults:cut"]),
    "transactions": ("transactions.py hooks", ["app.transactions:begin", "app.transactions:finish"]),
    "negotiation": ("negotiation and body parsing (negotiation.py, serialization.read)", [
        "app.negotiation:negotiate", "app.negotiation:request_data", "app.negotiation:request_body", "app.serialization:read"]),
    "marshmallow": ("marshmallow", ["marshmallow:Schema.load", "marshmallow:Schema.validate"]),
    "service": ("the service's Python: views, interactions/service.py, records/", [
        "app.interactions.views:create_interaction", "app.interactions.views:close_interaction", "app.table.views:list_records",
        "app.table.views:read_record", "app.table.views:insert_record", "app.soap.views:table_service"]),
    "rows": ("row rendering (records/values.py)", ["app.records.values:Projection._compile()"]),
    "pool": ("connection pool: checkout, return", ["playhouse.pool:PooledDatabase.connect", "app.db:close_connection"]),
    "commits": ("commits: atomic blocks, the writers' queue", [
        "app.db:atomic", "peewee:_atomic.__enter__", "peewee:_atomic.__exit__", "app.db:QueuedWritersSqliteDatabase._enter_queue",
        "app.db:QueuedWritersSqliteDatabase._leave_queue", "app.db:QueuedWritersSqliteDatabase._committed"]),
    "journal": ("request journal (stand_in/journal.py)", ["app.stand_in.journal:record"]),
    "rendering": ("rendering (serialization.py, orjson, the Response)", ["app.serialization:render", "app.serialization:result"]),
    "logging": ("logging", ["logging:Logger.isEnabledFor", "logging:Logger.debug", "logging:Logger.info", "logging:Logger.warning"]),
    "peewee": ("peewee's glue: execute_sql, the app's compiled statements", [
        "peewee:Database.execute_sql", "app.db:Compiled.execute", "app.db:Compiled.write"]),
}
# fmt: on
PARENTS = (*COMPONENTS, "none")
SYMBOL = re.compile(r"component_([a-z]+)_in_([a-z]+)$")

# One function per component and component it is called in, compiled with
# -O0: none inlined or left by a tail call. enter(component, f, args, kwargs)
# calls f through the one of the component and the innermost component
# running, unless that is the same one or the function is running already.
C_SOURCE = """#include <Python.h>
#define N %(n)d
typedef PyObject *(*call)(PyObject *, PyObject *, PyObject *);
%(functions)s
static const call calls[N][N + 1] = {%(table)s};
static char active[N][N + 1];
static int innermost = N;

static PyObject *enter(PyObject *module, PyObject *const *a, Py_ssize_t n) {
    int component = (int)PyLong_AsLong(a[0]), parent = innermost;
    if (component == parent || active[component][parent])
        return PyObject_Call(a[1], a[2], a[3]);
    active[component][parent] = 1;
    innermost = component;
    PyObject *result = calls[component][parent](a[1], a[2], a[3]);
    active[component][parent] = 0;
    innermost = parent;
    return result;
}
static PyMethodDef methods[] = {{"enter", (PyCFunction)(void (*)(void))enter, METH_FASTCALL, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef definition = {PyModuleDef_HEAD_INIT, "trampolines", NULL, -1, methods};
PyMODINIT_FUNC PyInit_trampolines(void) { return PyModule_Create(&definition); }
"""
# Calls into _sqlite3 kept apart by their callers (see _costs).
CALLGRIND_OPTIONS = [f"--separate-callers40={functions}" for functions in ("pysqlite_*", "cursor_*", "connection_*", "stmt_*", "module_*")]


def _trampolines():
    """The C module of the trampolines, compiled and imported (in the child)."""
    functions = "".join(
        f"PyObject *component_{c}_in_{p}(PyObject *f, PyObject *a, PyObject *k) {{ return PyObject_Call(f, a, k); }}\n" for c in COMPONENTS for p in PARENTS
    )
    table = ", ".join("{" + ", ".join(f"component_{c}_in_{p}" for p in PARENTS) + "}" for c in COMPONENTS)
    with tempfile.TemporaryDirectory(prefix="components-") as folder:
        library = f"{folder}/trampolines{sysconfig.get_config_var('EXT_SUFFIX')}"
        source = C_SOURCE % {"n": len(COMPONENTS), "functions": functions, "table": table}
        gcc = ["gcc", "-O0", "-shared", "-fPIC", "-I" + sysconfig.get_paths()["include"], "-x", "c", "-", "-o", library]
        subprocess.run(gcc, input=source, text=True, check=True)
        spec = importlib.util.spec_from_file_location("trampolines", library)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return module


def _traced(enter, component, f):
    """f, each call through the trampolines of `component`."""
    return functools.wraps(f)(lambda *args, **kwargs: enter(component, f, args, kwargs))


def _tracing_results(enter, component, f):
    """f, the functions it returns traced."""
    return functools.wraps(f)(lambda *args, **kwargs: _traced(enter, component, f(*args, **kwargs)))


def _instrumented_app(settings):
    """create_app(settings), with the functions of COMPONENTS wrapped."""
    from app import create_app

    enter = _trampolines().enter
    index = {key: number for number, key in enumerate(COMPONENTS)}
    replaced = {}  # id(function): its wrapper
    for key, (_, targets) in COMPONENTS.items():
        for target in targets:
            module, _, qualname = target.removesuffix("()").partition(":")
            *path, name = qualname.split(".")
            owner = functools.reduce(getattr, path, importlib.import_module(module))
            f = getattr(owner, name)
            # flask-httpauth's login_required: the view is `f` in the closure of its glue.
            code = getattr(f, "__code__", None)
            if target.endswith("()"):
                wrapper = _tracing_results(enter, index[key], f)
            elif hasattr(f, "__wrapped__") and code is not None and "f" in code.co_freevars:
                view = f.__closure__[code.co_freevars.index("f")]
                view.cell_contents = _traced(enter, index[key], view.cell_contents)
                wrapper = _traced(enter, index["auth"], f)
            else:
                wrapper = _traced(enter, index[key], f)
            setattr(owner, name, wrapper)
            replaced[id(f)] = wrapper
    # Where the functions were imported by name (from .db import atomic),
    # and the hooks and views that blueprints took at import.
    for name, module in list(sys.modules.items()):
        if name == "app" or name.startswith("app."):
            for attribute, value in list(vars(module).items()):
                if id(value) in replaced:
                    setattr(module, attribute, replaced[id(value)])
    app = create_app(settings)
    for functions in (*app.before_request_funcs.values(), *app.after_request_funcs.values()):
        functions[:] = [replaced.get(id(f), f) for f in functions]
    app.view_functions.update({endpoint: replaced.get(id(f), f) for endpoint, f in app.view_functions.items()})
    return app


def _name(names, value):
    """A name of callgrind's compressed ones: "(id) name" names id, "(id)" is it."""
    if not value.startswith("("):
        return value
    number, _, name = value[1:].partition(")")
    if name:
        names[number] = name[1:]
    return names[number]


def _costs(text):
    """Of a callgrind file: its total, the instructions of each object's own
    code, and by trampoline (component, parent): its inclusive count, and
    the count of the calls into _sqlite3 for which it is the innermost (None:
    for no trampoline)."""
    objects, functions = {}, {}
    tables = {"ob": objects, "cob": objects, "fn": functions, "cfn": functions}
    current = dict.fromkeys(tables)
    inclusive, sqlite, code = defaultdict(int), defaultdict(int), defaultdict(int)
    call = False
    for line in text.splitlines():
        key, equals, value = line.partition("=")
        if equals and key in tables:
            current[key] = _name(tables[key], value)
        elif key == "calls":
            call = True
        elif line[:1] and line[:1] in "0123456789+-*":
            cost = int(line.split()[1]) if " " in line else 0
            symbol = SYMBOL.match(current["fn"])
            if symbol:
                inclusive[symbol.groups()] += cost
            caller = os.path.basename(current["ob"]).split(".")[0]
            if not call:
                code[caller] += cost
                continue
            callee = os.path.basename(current["cob"] or current["ob"]).split(".")[0]
            if callee == "_sqlite3" and caller not in ("_sqlite3", "libsqlite3"):
                # The name of a function kept apart by its callers: function'caller'caller's caller...
                components = (SYMBOL.match(name) for name in current["cfn"].split("'"))
                sqlite[next((c.groups() for c in components if c), None)] += cost
            call, current["cob"] = False, None
    total = instructions.instructions_in(text)
    if sum(code.values()) != total:
        raise RuntimeError(f"the callgrind file's costs add up to {sum(code.values()):,}, not its total {total:,}")
    return {"total": total, "code": code, "inclusive": inclusive, "sqlite": sqlite}


def _rows(costs):
    """(row, instructions) of one path, adding up to its total."""
    own = defaultdict(int, none=costs["total"])  # less what the components called in it count
    statements = defaultdict(int)  # component: the calls into _sqlite3 of its statements
    for (component, parent), count in costs["inclusive"].items():
        sqlite = costs["sqlite"][component, parent]
        own[component] += count - sqlite
        own[parent] -= count
        statements[parent if component == "peewee" else component] += sqlite
    rows = [("test client and the rest (outside Flask.__call__)", own["none"])]
    rows += [(label, own[key]) for key, (label, _) in COMPONENTS.items()]
    # Components whose statements take under 0.1% share a row.
    apart = [key for key in PARENTS if statements[key] >= costs["total"] / 1000]
    rest = [key for key in PARENTS if statements[key] and key not in apart]
    for keys in [[key] for key in apart] + [rest] * bool(rest):
        rows.append((f"sqlite3 C (_sqlite3 with libsqlite3): {', '.join(keys)}'s statements", sum(statements[key] for key in keys)))
    return rows


def _table(name, costs, requests, unwrapped):
    total = costs["total"] / requests
    lines = [f"## {name}", "", "| component | instructions per request | % |", "|---|---:|---:|"]
    lines += [f"| {label} | {count / requests:,.0f} | {100 * count / costs['total']:.1f} |" for label, count in _rows(costs)]
    lines += [
        f"| **total** | **{total:,.0f}** | 100.0 |",
        f"| total without the wrappers (instructions.count) | {unwrapped:,.0f} | {100 * unwrapped / total:.1f} |",
        "",
        f"The wrappers' overhead: {100 * (total / unwrapped - 1):.1f}%. Instructions of SQLite's own code:"
        f" _sqlite3 {costs['code']['_sqlite3'] / requests:,.0f}, libsqlite3 {costs['code']['libsqlite3'] / requests:,.0f}"
        f" (sqlite3 C besides: the interpreter and libc they call). Calls into _sqlite3 with no component"
        f" among their 40 callers (the WAL checkpointer's thread): {costs['sqlite'][None] / requests:,.0f}, in the rows they run in.",
        "",
    ]
    return "\n".join(lines)


def main():
    args = instructions.arguments(__doc__, few=20, many=120).parse_args()
    root = os.path.abspath(args.root)
    if args.child:
        instructions.child(args.child[0], int(args.child[1]), int(args.child[2]), root, args.auth, args.journal_size, _instrumented_app)
        return
    valgrind = shutil.which("valgrind")
    if valgrind is None or shutil.which("gcc") is None:
        raise SystemExit("valgrind and gcc are needed (apt-get install valgrind gcc)")
    paths = tuple(args.path or instructions.PATHS)
    run = (args.few, args.many, root, args.auth, args.journal_size, __file__, CALLGRIND_OPTIONS, _costs)
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        costs = list(pool.map(lambda name: instructions.collected(valgrind, name, *run), paths))
    unwrapped = instructions.count(paths, args.few, args.many, args.jobs, root, args.auth, args.journal_size)
    journal = "" if args.journal_size is None else f", JOURNAL_SIZE={args.journal_size}"
    print(f"# Instructions per request by component\n\ncallgrind; requests {args.few + 1} to {args.many} of each path; {root}, {args.auth}{journal}.\n")
    for name, cost in zip(paths, costs):
        print(_table(name, cost, args.many - args.few, unwrapped[name]))


if __name__ == "__main__":
    main()

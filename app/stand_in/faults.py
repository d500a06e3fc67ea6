"""Fault rules: matching requests answered with an error, delayed, or cut.

The hot path. Every authenticated request already reads its user's row
(auth.py); that statement also reads the number of rules stored and their
generation from the one-row stand_in_state. With no rules, that is all a
request pays. With rules, each worker keeps them parsed, reloading them when
the generation it reads is not the one it loaded. Only a request that
matches a rule writes: one atomic UPDATE ... WHERE the rule is not retired
RETURNING the new count, so `skip` and `times` count exactly across all
workers and hosts. (A request without credentials, a 401 anyway, reads the
state with a query of its own.)
"""
import logging
import os
import random
import re
import socket
import struct
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus

import orjson
from flask import Response, current_app, g, request
from peewee import SQL

from .. import negotiation
from ..auth import request_user
from ..db import atomic, compiled, database, param
from ..errors import APIError, render_error
from ..models import StandInFaultRule, StandInState
from ..soap import views as soap
from . import scope

log = logging.getLogger(__name__)

HEADER = "X-Stand-In-Fault"

# The texts an error effect has when it names none (API.md §3).
_TEXTS = {
    400: ("Bad Request", None),
    401: ("User Not Authenticated", "Required to provide Auth information"),
    404: ("No Record found", "Record doesn't exist or ACL restricts the record retrieval"),
    500: ("Internal server error", None),
}


@dataclass
class Firing:
    """What a rule did to this request, for the journal and the answer."""

    rule_id: int
    effect: dict
    phase: str
    dropped: str | None = None  # the drop mode, once cut
    status_before_cut: int | None = None


class Rule:
    __slots__ = ("id", "match", "path", "effect", "probability", "skip", "phase")

    def __init__(self, rule_id, rule):
        self.id = rule_id
        self.match = rule["match"]
        self.path = re.compile(self.match["path"]) if "path" in self.match else None
        self.effect = rule["effect"]
        self.probability = rule["probability"]
        self.skip = rule["skip"]
        self.phase = rule["phase"]

    def matches(self, method, path, fmt, user):
        match = self.match
        return (
            match.get("method", method) == method
            and (self.path is None or self.path.search(path) is not None)
            and match.get("format", fmt) == fmt
            and ("user" not in match or (user is not None and user.user_name == match["user"]))
        )


class Loaded:
    """A worker's parsed rules, as of one generation of one database."""

    def __init__(self):
        self.lock = threading.Lock()
        self.generation = None
        self.rules = ()
        # Rules this worker saw retired: they never fire again.
        self.retired = set()


# --- the store -------------------------------------------------------------


@compiled
def _read_state():
    return StandInState.select(StandInState.fault_rules, StandInState.generation).where(StandInState.id == SQL("1"))


def _not_retired():
    rule = StandInFaultRule
    return rule.times.is_null() | (rule.hits < rule.times)


@compiled
def _count_match():
    rule = StandInFaultRule
    return (
        rule.update(matches=rule.matches + SQL("1"))
        .where((rule.id == param("id")) & _not_retired())
        .returning(rule.matches)
    )


@compiled
def _take_firing():
    rule = StandInFaultRule
    return rule.update(hits=rule.hits + SQL("1")).where((rule.id == param("id")) & _not_retired()).returning(rule.hits)


@compiled
def _match_and_fire():
    rule = StandInFaultRule
    return (
        rule.update(matches=rule.matches + SQL("1"), hits=rule.hits + SQL("1"))
        .where((rule.id == param("id")) & _not_retired())
        .returning(rule.hits)
    )


def bump_generation():
    """In the transaction that changes the rules: every worker reloads."""
    StandInState.update(
        fault_rules=StandInFaultRule.select(SQL("COUNT(*)")), generation=StandInState.generation + 1
    ).where(StandInState.id == 1).execute()


def add(rule):
    with database.atomic():
        row = StandInFaultRule.create(rule=orjson.dumps(rule).decode(), times=rule["times"], skip=rule["skip"])
        bump_generation()
    return describe(row)


def listing():
    return [describe(row) for row in StandInFaultRule.select().order_by(StandInFaultRule.id)]


def get(rule_id):
    row = StandInFaultRule.get_or_none(StandInFaultRule.id == rule_id)
    return describe(row) if row else None


def remove(rule_id=None):
    """Remove one rule (or all); how many went."""
    with database.atomic():
        query = StandInFaultRule.delete()
        if rule_id is not None:
            query = query.where(StandInFaultRule.id == rule_id)
        removed = query.execute()
        bump_generation()
    return removed


def describe(row):
    rule = orjson.loads(row.rule)
    remaining = None if row.times is None else max(row.times - row.hits, 0)
    return {"id": row.id, **rule, "hits": row.hits, "remaining": remaining}


# --- the request's way in and out -----------------------------------------


def _rules(context):
    """This worker's rules, current as of the generation this request read."""
    state = context.get("fault_state")
    if state is None:
        state = _read_state().execute().fetchone() or (0, 0)
    count, generation = state
    if not count:
        return None, ()
    loaded = current_app.extensions["stand_in_faults"]
    with loaded.lock:
        if loaded.generation != generation:
            rows = StandInFaultRule.select(StandInFaultRule.id, StandInFaultRule.rule).order_by(StandInFaultRule.id)
            loaded.rules = tuple(Rule(row.id, orjson.loads(row.rule)) for row in rows)
            loaded.retired = set()
            loaded.generation = generation
        return loaded, loaded.rules


def _fires(rule, loaded):
    """Counts this match toward the rule, atomically; True when it fires."""
    with atomic():
        if rule.skip == 0 and rule.probability >= 1:
            fired = _match_and_fire().execute(id=rule.id).fetchone()
            retired = fired is None
        else:
            counted = _count_match().execute(id=rule.id).fetchone()
            retired, fired = counted is None, None
            if not retired and counted[0] > rule.skip and random.random() < rule.probability:
                fired = _take_firing().execute(id=rule.id).fetchone()
                retired = fired is None
    if retired:
        loaded.retired.add(rule.id)
    return fired is not None


def check():
    """before_request: the first rule that fires wins. Its `before` effect is
    the answer (or a delay before the view); an `after` one waits for it."""
    # The proxies resolved once: each read through one costs eight times the read.
    req = request._get_current_object()
    path = req.path
    if not scope.observed(path):
        return None
    user = request_user(req)
    context = g._get_current_object()
    loaded, rules = _rules(context)
    if not rules:
        return None
    fmt = negotiation.response_format(req.headers.get("Accept")) or "json"
    for rule in rules:
        if rule.id in loaded.retired or not rule.matches(req.method, path, fmt, user):
            continue
        if _fires(rule, loaded):
            context.fault = Firing(rule.id, rule.effect, rule.phase)
            if rule.phase == "before":
                return _apply(context.fault, None)
            return None
    return None


def after(response):
    """after_request, the first one: an `after` effect replaces the answer
    the view gave (its work is committed by now)."""
    fault = g._get_current_object().get("fault")
    if fault is None:
        return response
    if fault.phase == "after":
        response = _apply(fault, response)
    response.headers[HEADER] = str(fault.rule_id)
    return response


def _apply(fault, response):
    effect = fault.effect
    if effect["type"] == "delay":
        time.sleep(effect["ms"] / 1000)
        effect = effect.get("then")
        if effect is None:
            return response
    if effect["type"] == "error":
        message, detail = _texts(effect["status"])
        error = APIError(effect["status"], effect.get("message", message), effect.get("detail", detail), effect.get("headers"))
        # A SOAP client is answered as it understands failures: a SOAP fault.
        return soap.injected_fault(error) if request.blueprint == soap.bp.name else render_error(error)
    # drop: cut once the journal has the entry (see cut), which keeps the
    # answer the service gave (phase after); the server's write of it fails.
    fault.dropped = effect["mode"]
    fault.status_before_cut = response.status_code if response is not None else None
    if not _client_socket():
        # Flask's test client has no connection to cut: it gets an empty 502.
        return Response(b"", status=502)
    return response if response is not None else Response(b"", status=200)


def _texts(status):
    if status in _TEXTS:
        return _TEXTS[status]
    try:
        return HTTPStatus(status).phrase, None
    except ValueError:  # a status no RFC names, such as 599
        return "Injected fault", None


def _client_socket():
    return request.environ.get("gunicorn.socket") or request.environ.get("werkzeug.socket")


def cut(response):
    """after_request, the very last: drops the client's connection when a
    rule said so. `close` sends a FIN; `reset` a RST (SO_LINGER 0, then the
    descriptor is closed under the server by putting a dead socket in its
    place, so that the server's own write fails as on a vanished client,
    with EPIPE, which gunicorn and werkzeug both take quietly)."""
    fault = g._get_current_object().get("fault")
    if fault is None or fault.dropped is None:
        return response
    client = _client_socket()
    if client is None:
        return response
    try:
        if fault.dropped == "close":
            client.shutdown(socket.SHUT_RDWR)
        else:
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            dead, peer = socket.socketpair()
            peer.close()
            os.dup2(dead.fileno(), client.fileno())
            dead.close()
    except OSError as error:
        log.warning("fault %s: could not cut the connection: %s", fault.rule_id, error)
    return response

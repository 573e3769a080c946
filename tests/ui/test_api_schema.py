"""Schemathesis fuzzes every operation of the HTTP API against its own OpenAPI schema: never a 5xx, every answer
(status, content type, body) one the schema documents, and a request without the right credentials refused."""

from __future__ import annotations

import zlib
from collections import Counter
from dataclasses import dataclass

import pytest
import schemathesis
from fastapi.testclient import TestClient
from schemathesis.python import asgi

from assistant import store
from ui.app import create_app

# Cases per operation and phase: enough to reach odd input and the boundaries, few enough for about a minute
# on two cores (the coverage phase adds its own boundary cases, and unsupported methods, on top).
MAX_EXAMPLES = 200
# What a case carries comes from a draw in 0..9 (`_draw`): 8 in 10 the operation's own credentials (2 of those with
# the generated message id rather than the conversation's bot reply), 1 whatever Authorization the fuzzer made up
# (often none), 1 someone else's: a made-up key, or another conversation's token.
OWN, GENERATED_MESSAGE_ID, FUZZED, SOMEONE_ELSES = range(8), (6, 7), 8, 9
# Without the right credentials, the only answers: refused for them, or for the request's form before they were read.
REFUSED = {401, 403} | {400, 405, 411, 413, 422}

schema = schemathesis.pytest.from_fixture("api_schema")


@dataclass(frozen=True)
class Held:
    """What a shop page holds: its key, and a conversation with its token and a bot reply to rate."""

    key: str
    conversation_id: str
    token: str
    bot_message_id: int
    other_token: str  # another conversation's: it must not open this one


@pytest.fixture
def app(fake_assistant):
    # The fuzzer sends everything from one address: at the default limits most cases would meet only a 429.
    # And no spike checks in the background (0 turns them off).
    fake_assistant.settings = fake_assistant.settings.model_copy(
        update={"api_rate_per_ip": 1_000_000, "api_rate_per_key": 1_000_000, "alert_check_seconds": 0})
    return create_app(fake_assistant.settings, fake_assistant)


@pytest.fixture
def held(app, fake_assistant) -> Held:
    with store.transaction(fake_assistant.engine) as session:
        _, key = store.create_api_key(session, name="fuzzed-shop")  # no origins: any Origin header may use it
    client = TestClient(app)
    mine, other = (client.post("/api/v1/conversations", headers={"Authorization": f"Bearer {key}"}).json()
                   for _ in range(2))
    reply = client.post(f"/api/v1/conversations/{mine['id']}/messages", json={"text": "how much is shipping?"},
                        headers={"Authorization": f"Bearer {mine['token']}"})
    assert reply.status_code == 200, reply.text
    return Held(key=key, conversation_id=mine["id"], token=mine["token"], bot_message_id=reply.json()["message_id"],
                other_token=other["token"])


@pytest.fixture
def statuses():
    """The statuses the fuzzing met, by operation, credentials and whether the case kept to the schema; checked
    once every operation has run: most valid cases with their own credentials must have been served."""
    seen: Counter[tuple[str, str, str, int]] = Counter()
    yield seen
    print(f"\n{sum(seen.values())} cases:", *(f"{n:4} {label} [{who}, {mode}] -> {status}"
                                              for (label, who, mode, status), n in sorted(seen.items())), sep="\n")
    assert not any(status == 429 for *_, status in seen), "the rate limits answered instead of the handlers"
    for label in {label for label, *_ in seen if " /api/" in label}:
        own = [(status, n) for (op, who, mode, status), n in seen.items()
               if (op, who, mode) == (label, "own", "positive")]
        served = sum(n for status, n in own if 200 <= status < 300)
        assert served > sum(n for _, n in own) / 2, f"{label}: {served} of its valid own cases were served: {own}"


@pytest.fixture
def api_schema(app, request):
    # schemathesis 4.32's fixture loader reads `node._nodeid`, which pytest 9.2 no longer has: give it the id.
    request.node._nodeid = request.node.nodeid
    config = schemathesis.Config.from_dict({
        # The same cases on every run: a fixed seed, no example database, and no values taken from earlier
        # responses (ids and tokens are random); Hypothesis' clock-based check would fail a busy CI machine.
        "seed": 1,
        "generation": {"max-examples": MAX_EXAMPLES, "deterministic": True, "database": "none"},
        "phases": {"fuzzing": {"extra-data-sources": {"responses": False}, "error-feedback": {"enabled": False}},
                   "coverage": {"extra-data-sources": {"responses": False}},
                   "examples": {"extra-data-sources": {"responses": False}}},
        "suppress-health-check": ["too_slow"],
        "checks": {
            # An oversized body is refused before it is read (413), whatever it holds: a fine answer to invalid data.
            "negative_data_rejection": {"expected-statuses": ["400", "401", "403", "404", "405", "406", "409", "413",
                                                              "415", "422", "428", "429"]},
        },
        # Rating a message of one's own conversation that is not a bot reply is well-formed but refused (422).
        "operations": [{"include-path": "/api/v1/messages/{message_id}/feedback", "checks": {
            "positive_data_acceptance": {"expected-statuses": ["2xx", "401", "403", "404", "409", "422", "429"]}}}],
    })
    yield schemathesis.openapi.from_asgi("/openapi.json", app, config=config)
    asgi.shutdown_lifespans()  # the app's lifespan, which schemathesis started and would keep to the end


def _draw(case) -> int:
    """A draw in 0..9 from the generated values themselves, so a failing case replays (and shrinks) with the
    same credentials; Hypothesis cannot draw here, as the coverage phase's cases are fixed examples."""
    body = case.body if isinstance(case.body, (dict, list, str, bytes, int, float, bool)) else None  # not NotSet's id
    generated = (case.operation.label, case.path_parameters, case.query, body,
                 {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"})
    return zlib.crc32(repr(generated).encode()) % 10


def knock(case, held: Held) -> str:
    """Give the case the credentials its draw says, with the held conversation and reply to open with them;
    returns whose they are: "own", "fuzzed" or "another's"."""
    draw = _draw(case)
    if draw == FUZZED:
        return "fuzzed"
    parameters = dict(case.path_parameters or {})
    if "conversation_id" in parameters:
        parameters["conversation_id"] = held.conversation_id
    if "message_id" in parameters and draw not in GENERATED_MESSAGE_ID:
        parameters["message_id"] = held.bot_message_id
    if parameters:
        case.path_parameters = parameters
    starts = case.operation.path == "/api/v1/conversations"
    if draw in OWN:
        secret = held.key if starts else held.token
    else:
        secret = "sk_made_up" if starts else held.other_token
    case.headers = {**{k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"},
                    "Authorization": f"Bearer {secret}"}
    return "own" if draw in OWN else "another's"


@schema.parametrize()
def test_the_api_answers_as_its_schema_says(case, held, statuses):
    who = knock(case, held) if case.operation.path.startswith("/api/") else "anyone"
    response = case.call_and_validate()  # every check: no 5xx, documented status, content type and body
    if who in ("fuzzed", "another's"):
        assert response.status_code in REFUSED, (who, response.status_code, response.text)
    statuses[(case.operation.label, who, case.meta.generation.mode.value, response.status_code)] += 1

"""The OpenAPI contract, fuzzed: schemathesis generates requests for every operation from the
document the app serves, sends them to the ASGI app in process, and checks every answer.

Driven from Python (``case.call()`` in a loop under Hypothesis's ``@given``) rather than through
schemathesis's pytest plugin, so the run needs no plugin and its budget is explicit: a fixed number
of cases per operation, valid ones (positive) and invalid ones (negative), at least 1,000 in all.
Path parameters are real ids of a real tenant's resources half of the time, so generated bodies
reach the handlers rather than stopping at a 404. The bar: no 5xx, and every status, content type
and body conforms to the document.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import anyio
import httpx
import pytest
import schemathesis
from anchor.core.config import Settings
from anchor.main import create_app
from anchor.tests.helpers import PUBLIC_URL, make_tenant
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.result import Err

POSITIVE_PER_OPERATION = 30
NEGATIVE_PER_OPERATION = 12
MIN_CASES = 1000
CHECKS = [schemathesis.checks.not_a_server_error, schemathesis.checks.status_code_conformance,
          schemathesis.checks.content_type_conformance, schemathesis.checks.response_schema_conformance,
          schemathesis.checks.response_headers_conformance]


@dataclass
class Tally:
    cases: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


async def _seed(settings: Settings) -> tuple[str, dict[str, str]]:
    """A tenant with an application, an endpoint, a message and an event type: ids for the paths."""
    application = create_app(settings)
    async with application.router.lifespan_context(application), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://anchor.test") as client:
        owner = await make_tenant(client)
        app = (await client.post("/api/v1/app", json={"name": "fuzzed"}, headers=owner.headers)).json()
        endpoint = (await client.post(f"/api/v1/app/{app['id']}/endpoint", headers=owner.headers,
                                      json={"url": PUBLIC_URL})).json()
        message = (await client.post(f"/api/v1/app/{app['id']}/msg", headers=owner.headers,
                                     json={"eventType": "fuzz.done", "payload": {"a": 1}})).json()
        await client.post("/api/v1/event-type", headers=owner.headers, json={"name": "fuzz.done"})
    return owner.api_key, {"app_id": app["id"], "endpoint_id": endpoint["id"], "msg_id": message["id"],
                           "event_type_name": "fuzz.done", "key_id": owner.api_key_id}


def _run(operation: schemathesis.APIOperation, mode: GenerationMode, examples: int, auth: dict[str, str],
         path_parameters: dict[str, str], tally: Tally) -> None:
    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters or None))
    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def exercise(case: schemathesis.Case) -> None:
        try:
            response = case.call(headers=auth)
        except Exception as exc:  # in process, an unhandled error reaches us instead of a bare 500
            tally.failures.append(f"{case.method} {case.path} raised {exc!r}"[:400])
            return
        tally.cases += 1
        tally.statuses[response.status_code] = tally.statuses.get(response.status_code, 0) + 1
        try:
            case.validate_response(response, checks=CHECKS)
        except (AssertionError, schemathesis.errors.FailureGroup) as exc:  # collected: one run shows all
            tally.failures.append(f"{case.method} {case.path} → {response.status_code}: "
                                  f"{str(exc).splitlines()[0][:300]}")

    try:
        exercise()
    except Unsatisfiable:
        if mode is GenerationMode.POSITIVE:
            raise
        # An operation without parameters or body (GET /healthz) has no invalid request to make.


def test_generated_requests_get_no_server_error_and_answers_that_match_the_schema(
        settings: Settings) -> None:
    api_key, ids = anyio.run(_seed, settings)
    auth = {"Authorization": f"Bearer {api_key}"}
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(settings))
    operations = []
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            pytest.fail(f"the OpenAPI document has an operation schemathesis cannot read: {result.err()}")
        operations.append(result.ok())
    # Deleting the seeded resources early would turn the rest of the run into 404s (or, for the API
    # key, 401s): deletions last, the deepest paths first, the key itself at the very end.
    operations.sort(key=lambda operation: (operation.method.upper() == "DELETE", "api-keys" in operation.path,
                                           -len(operation.path), operation.path))
    tally = Tally()
    for operation in operations:
        names = {parameter.name for parameter in operation.path_parameters}
        real = {name: value for name, value in ids.items() if name in names}
        for mode, examples, path_parameters in ((GenerationMode.POSITIVE, POSITIVE_PER_OPERATION, real),
                                                (GenerationMode.POSITIVE, POSITIVE_PER_OPERATION // 3, {}),
                                                (GenerationMode.NEGATIVE, NEGATIVE_PER_OPERATION, {})):
            _run(operation, mode, examples, auth, path_parameters, tally)
    distinct = sorted(set(tally.failures))
    assert not distinct, (
        f"{len(distinct)} kinds of contract failure in {tally.cases} generated requests (a 5xx, or an "
        "answer the OpenAPI document does not describe):\n" + "\n".join(distinct[:20]))
    assert tally.cases >= MIN_CASES, f"only {tally.cases} cases ran; the contract run needs {MIN_CASES}"
    assert any(200 <= status < 300 for status in tally.statuses), (
        f"no generated request succeeded, so only error paths were fuzzed: {tally.statuses}")
    print(f"schemathesis: {tally.cases} cases over {len(operations)} operations; statuses {tally.statuses}")


"""Schemathesis hooks for Keyplane's contract test (tests/tests/openapi_contract.rs).

Loaded through SCHEMATHESIS_HOOKS. They teach Schemathesis the one body
format it lacks and point part of the generated requests at data that exists,
so the run reaches past "404, no such project" without narrowing what is sent.
"""

import json
import os

import schemathesis
from hypothesis import strategies


@schemathesis.serializer("application/x-ndjson")
def ndjson(ctx, value):
    # The import archive is documented as a string (the NDJSON text itself).
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")
    return json.dumps(value).encode("utf-8")


# Ids of data the test created, by path parameter name: `project_id` on the
# control plane, `id` (an identity) on the tenant.
KNOWN = {
    name: value
    for name, value in (
        ("project_id", os.environ.get("KEYPLANE_CONTRACT_PROJECT_ID")),
        ("id", os.environ.get("KEYPLANE_CONTRACT_IDENTITY_ID")),
    )
    if value
}

@schemathesis.hook
def flatmap_path_parameters(ctx, path_parameters):
    # Drawn through Hypothesis (not `random`) so a case replays the same.
    # Either the generated ids (their 404 answers are checked too) or the
    # ids of what exists.
    if not path_parameters or not any(name in path_parameters for name in KNOWN):
        return strategies.just(path_parameters)
    known = dict(path_parameters)
    known.update((name, value) for name, value in KNOWN.items() if name in known)
    return strategies.sampled_from([path_parameters, known])


@schemathesis.hook
def map_query(ctx, query):
    # The change feed long-polls up to `wait` seconds (at most 60); a second
    # keeps the run bounded. tests/tests/permission_changes.rs covers the wait.
    if query and "wait" in query and ctx.operation is not None and ctx.operation.path == "/relation-tuples/changes":
        try:
            query["wait"] = min(int(query["wait"]), 1)
        except (TypeError, ValueError):
            pass
    return query

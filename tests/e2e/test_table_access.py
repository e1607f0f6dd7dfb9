"""Each function's DynamoDB grants (template.yaml) are exactly what its code uses, proven by running the code.

The whole demo (Flows 1 to 5 through the gateway, the sandboxes and the queues; once per session: tests/e2e/conftest.py
`demo_run`), the admin routes, the app lifecycle, a paused tenant's order, the reconciliation and the catalog health
check run on the session's devstack while a botocore hook records each DynamoDB call with the function whose handler
made it (devstack/runtime.py CURRENT_FUNCTION). Both ways: every recorded (function, table, IAM action) must be
granted to that function's role in the translated template (its list covers its calls), and every grant must have
been used, or be named below with the code path this run does not reach (its list is no broader than its code).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import httpx

from devstack import demo
from devstack.app import Devstack
from devstack.playground import dashboard_instance
from posbridge.dlq import DeadLetterQueue
from posbridge.domain.events import ORDER_CREATED
from posbridge.domain.work_message import WorkMessage
from posbridge.messaging import WorkQueue
from tests.e2e import test_square_oauth as oauth_flow
from tests.e2e.conftest import DemoRun, all_tenants, wait_for
from tests.table_access import Call, dynamodb_calls_recorded, granted_table_actions

# Grants whose code paths this run does not reach, each with the path (and where else it is tested).
NOT_EXERCISED: dict[Call, str] = {
    ("OrderWorkerFunction", "IdempotencyTable", "GetItem"): "Powertools reads a record when a conditional put's "
    "failure does not return it (a duplicate event)",
    ("ReconcilerFunction", "MappingsTable", "DeleteItem"): "the purge of a tenant removed longer ago than the "
    "retention (LifecycleStore.purge: tests/integration/test_tenant_lifecycle_store.py)",
    ("ReconcilerFunction", "MappingsTable", "BatchWriteItem"): "the same purge, and forgetting the orders a site "
    "received before its POS was connected (AwaitingPosOrders.forget)",
    ("LoadPosCatalogFunction", "MappingsTable", "DeleteItem"): "an import refused because another holds the tenant's "
    "lock (CatalogJobs.start)",
    ("RollbackFunction", "MappingsTable", "Query"): "the rollback of an import that failed after Publish replaced the "
    "mapping (CatalogMappings.replace with the previous one)",
    ("RollbackFunction", "MappingsTable", "BatchWriteItem"): "the same rollback after Publish",
    ("CloverWebhookFunction", "MappingsTable", "PutItem"): "keeping Clover's verification handshake code "
    "(pos/clover/webhook_code.py), done once when the devstack starts, before this run records (Devstack.start reads "
    "it back to verify the URL: every test over a devstack depends on it)",
    **{
        ("CatalogHealthFunction", "MappingsTable", action): "healing a stuck import (its rollback, the job failed, the "
        "lock freed: tests/e2e/test_catalog_import.py)"
        for action in ("GetItem", "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem")
    },
}


def _exercise(devstack: Devstack) -> None:
    """Every function's paths that touch DynamoDB the demo does not."""
    assert devstack.stack is not None
    stack, admin = devstack.stack, f"{devstack.gateway_url}/admin"
    http = httpx.Client(timeout=30)
    # The admin API's reads and writes
    assert http.get(f"{admin}/tenants").status_code == 200
    tenant = f"{admin}/tenants/{demo.INSTANCE_ID}"
    assert http.get(tenant).status_code == 200
    assert http.get(f"{tenant}/pos-orders/{uuid.uuid4()}").status_code in (200, 404)
    # A paused tenant's order: parked by the worker (its idempotency record deleted on the failure), then resumed
    assert http.post(f"{tenant}/pause").status_code == 200
    paused_order = str(uuid.uuid4())
    WorkQueue(stack.output("WorkQueueUrl")).send(
        WorkMessage(
            source="wix",
            event_type=ORDER_CREATED,
            event_id=f"paused-{paused_order}",
            tenant_id=demo.INSTANCE_ID,
            entity_id=paused_order,
            payload={"createdEvent": {"entity": {"id": paused_order, "lineItems": []}}},
        )
    )
    parked = DeadLetterQueue(stack.output("WorkDeadLetterQueueUrl"), stack.output("WorkQueueUrl"))
    wait_for(lambda: any(p.entity_id == paused_order for p in parked.find(tenant_id=demo.INSTANCE_ID)))
    assert http.post(f"{tenant}/resume").status_code == 200
    assert http.post(f"{tenant}/reconcile").status_code == 200
    assert http.get(f"{admin}/dead-letters").status_code == 200
    assert http.post(f"{admin}/dead-letters/redrive", json={}).status_code in (200, 202)
    # The app's lifecycle on the worker: a site installs the app, connects its POS, removes the app
    instance = f"inst-access-{uuid.uuid4().hex[:8]}"
    queue = WorkQueue(stack.output("WorkQueueUrl"))
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    for event_type in ("AppInstalled", "AppRemoved"):
        if event_type == "AppRemoved":  # connected, then moved to another POS location (its old link deleted)
            for location, status in (("L-1", 201), ("L-2", 200)):
                registration = {
                    "pos": {
                        "provider": "square",
                        "merchantId": f"M-{instance}",
                        "locationId": location,
                        "accessToken": "t",
                        "webhookSignatureKey": "k",
                    }
                }
                assert http.put(f"{admin}/tenants/{instance}", json=registration).status_code == status
        queue.send(
            WorkMessage(
                source="wix",
                event_type=event_type,
                event_id=f"{event_type}-{instance}",
                tenant_id=instance,
                entity_id=instance,
                payload={"occurredAt": now},
            )
        )
        if event_type == "AppRemoved":
            wait_for(lambda: _status(http, admin, instance) == "removed")
        else:
            wait_for(lambda: any(t["instanceId"] == instance for t in all_tenants(devstack)))
    # A restaurant connects Square through OAuth, exports, is refreshed by the schedule, and is revoked
    oauth_flow.test_a_restaurant_connects_through_oauth_exports_refreshes_and_is_paused_when_revoked(devstack)
    # The restaurant's page: its activity (recent orders, parked messages, catalog sync) and export settings
    owner = {"Authorization": f"Instance {dashboard_instance(devstack, http, demo.INSTANCE_ID)}"}
    page = f"{devstack.gateway_url}/restaurant"
    assert http.get(f"{page}/activity", headers=owner).status_code == 200
    settings = {"exportOn": "approved", "exportUnpaid": True}
    assert http.put(f"{page}/settings", headers=owner, json=settings).status_code == 200
    # The scheduled runs the devstack does not schedule: every tenant's reconciliation and the purge, the catalog
    # reconciliation, the catalog health check
    for function, event in (
        ("ReconcilerFunction", {"source": "aws.events", "detail-type": "Scheduled Event"}),
        ("CatalogSyncFunction", {"source": "aws.events", "detail-type": "Scheduled Event"}),
        ("CatalogHealthFunction", {"source": "aws.events", "detail-type": "Scheduled Event"}),
    ):
        _, error = stack.invoke(function, event)
        assert error is None, function


def _status(http: httpx.Client, admin: str, instance: str) -> str | None:
    response = http.get(f"{admin}/tenants/{instance}")
    return str(response.json().get("status")) if response.status_code == 200 else None


def test_every_dynamodb_call_a_function_makes_is_granted_to_it(
    devstack: Devstack, demo_run: DemoRun, translated_template: dict[str, Any]
) -> None:
    # Given the grants of each function's role
    granted = granted_table_actions(translated_template)
    # When every function's paths run on the devstack: the session's demo run, then what it does not do
    assert demo_run.ok
    with dynamodb_calls_recorded(devstack) as calls:
        _exercise(devstack)
    recorded = calls | demo_run.dynamodb_calls
    seen: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for function, table, action in recorded:
        seen[function].add((table, action))
    # Then each call was granted to the function that made it (its list covers what its code does) ...
    missing = sorted((f, t, a) for f, t, a in recorded if (t, a) not in granted.get(f, set()))
    assert missing == []
    # ... and each grant was used, or its path is named above (no function may do more than its code needs)
    unused = {(f, t, a) for f, actions in granted.items() for t, a in actions if (t, a) not in seen[f]}
    assert sorted(unused - set(NOT_EXERCISED)) == []
    assert sorted(set(NOT_EXERCISED) - unused) == []  # a path now exercised leaves the list

"""The catalog publish workflow's steps (Flow 4): one Lambda function per step, each a handler below.

template.yaml points each step's function at its handler (Handler: app.<step>); statemachine/catalog_publish.asl.json
passes `jobId` (the execution name) and, to LoadPosCatalog, the execution input. The business rules are in
posbridge/flows/catalog_publish/; here errors are only normalised for Step Functions, whose Retry and Catch match
the exception class name: TransientError (retried), PermanentError (caught: Rollback), nothing more specific.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from posbridge.aws_errors import as_transient
from posbridge.config import CatalogPublishSettings
from posbridge.errors import PermanentError, TransientError
from posbridge.flows import catalog_publish as flow
from posbridge.metric import emit_metric
from posbridge.ports.wix import WixKind
from posbridge.wiring import catalog_publish_deps

settings = CatalogPublishSettings.from_env()
deps = catalog_publish_deps(settings)
logger = Logger()
tracer = Tracer()

RATE_LIMIT_RESERVE_S = 150.0  # the shared Wix rate limiter may make one call wait up to 120 s


def _run(event: dict[str, Any], context: LambdaContext, step: Callable[[flow.Deps, str], Any]) -> Any:
    job_id = str(event.get("jobId") or "")
    logger.append_keys(job_id=job_id)
    remaining_s = context.get_remaining_time_in_millis() / 1000
    budget = min(deps.budget_s, max(5.0, remaining_s - RATE_LIMIT_RESERVE_S, remaining_s / 2))
    try:
        return step(dataclasses.replace(deps, budget_s=budget), job_id)
    except PermanentError as exc:
        logger.warning("catalog step failed", extra={"reason": exc.reason, "error": str(exc)})
        raise PermanentError(exc.reason, f"{exc.reason}: {exc}", exc.details) from exc
    except TransientError as exc:
        logger.warning("catalog step will be retried", extra={"error": str(exc)})
        raise TransientError(str(exc)) from exc
    except (ClientError, BotoCoreError) as exc:
        transient = as_transient(exc)
        if transient is None:
            raise
        raise transient from exc
    except ValidationError as exc:
        raise PermanentError("invalid_input", f"invalid_input: {exc.error_count()} invalid field(s)") from exc


@tracer.capture_lambda_handler
@logger.inject_lambda_context
def load_pos_catalog(event: dict[str, Any], context: LambdaContext) -> Any:
    request = event.get("input") or {}
    arn = event.get("executionArn")
    return _run(event, context, lambda d, job: flow.load_pos_catalog(d, job, request, arn))


def _step(run: Callable[[flow.Deps, str], Any]) -> Callable[[dict[str, Any], LambdaContext], Any]:
    """The handler of a step that needs nothing from its event but the job id."""

    @tracer.capture_lambda_handler
    @logger.inject_lambda_context
    def handler(event: dict[str, Any], context: LambdaContext) -> Any:
        return _run(event, context, run)

    return handler


def _create_entities(d: flow.Deps, job: str, kind: WixKind) -> dict[str, Any]:
    result = flow.create_entities(d, job, kind)
    if not result["more"]:  # this kind is done: count what the import wrote of it, once
        emit_metric("CatalogEntitiesWritten", result["done"])
    return result


def _create(kind: WixKind) -> Callable[[dict[str, Any], LambdaContext], Any]:
    return _step(lambda d, job: _create_entities(d, job, kind))


def _publish(d: flow.Deps, job_id: str) -> dict[str, Any]:
    """Publish, then count how long the import took from its start to the moment customers see the new menu."""
    result = flow.publish(d, job_id)
    job = d.jobs.get(job_id)
    if job is not None:
        started = datetime.fromisoformat(job.started_at.replace("Z", "+00:00"))
        emit_metric("PublishDuration", (datetime.now(UTC) - started).total_seconds(), MetricUnit.Seconds)
    return result


resolve_location = _step(flow.resolve_location)
resolve_target = _step(flow.resolve_target)
create_draft = _step(flow.create_draft)
create_variants = _create("variant")
create_modifiers = _create("modifier")
create_modifier_groups = _create("modifierGroup")
create_items = _create("item")
create_sections = _create("section")
create_menus = _create("menu")
publish = _step(_publish)
cleanup = _step(flow.cleanup)


@tracer.capture_lambda_handler
@logger.inject_lambda_context
def rollback(event: dict[str, Any], context: LambdaContext) -> Any:
    error = event.get("error")
    return _run(event, context, lambda d, job: flow.rollback(d, job, error if isinstance(error, dict) else None))

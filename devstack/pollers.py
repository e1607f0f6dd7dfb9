"""Lambda's SQS poller, played by the devstack for each SQS event source mapping in the deployed template.

moto's own mapping invokes the function inside `SendMessage` (so a webhook's ack would wait for the worker) and ignores
`batchItemFailures`. This poller behaves like Lambda: it receives batches (moto keeps FIFO group order, receive counts
and the redrive to the DLQ), invokes the function through moto, deletes what succeeded and leaves failures to come
back when their visibility timeout runs out, including one the function set itself (ChangeMessageVisibility: the
workers send back what cannot finish with a delay matched to the cause).
Two liberties, both for local speed: a failed message whose visibility the function did not change (a crash) becomes
visible after `retry_delay_s` rather than the queue's full visibility timeout; and a delay the function did set is
scaled by `visibility_scale` (1.0, the default: exactly as set, as in AWS; the devstack runs faster with less).
"""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

from moto.sqs.models import sqs_backends

from devstack.runtime import attributed

EVENT_SOURCE_PREFIX = "sqs-event-source:"  # the meter's name for Lambda's poller of a function's queue


@dataclass(frozen=True)
class SqsMapping:
    function_name: str
    queue_url: str
    queue_arn: str
    batch_size: int
    report_batch_item_failures: bool


class SqsPoller:
    def __init__(
        self,
        mapping: SqsMapping,
        sqs: Any,
        lambda_client: Any,
        retry_delay_s: int = 1,
        visibility_scale: float = 1.0,
    ) -> None:
        self.mapping = mapping
        self._sqs = sqs
        self._lambda = lambda_client
        self._retry_delay_s = retry_delay_s
        self.visibility_scale = visibility_scale  # public: a test may ask for AWS's exact timing
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"sqs-poller-{mapping.function_name}", daemon=True)
        self.batches = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        with attributed(EVENT_SOURCE_PREFIX + self.mapping.function_name.rsplit(":", 1)[-1]):
            while not self._stop.is_set():
                try:
                    self.poll_once(wait_s=1)
                except Exception:  # the poller must outlive a moto hiccup, as Lambda's does
                    self._stop.wait(0.5)

    def poll_once(self, wait_s: int = 0) -> int:
        """Receive one batch and process it; returns how many messages were received."""
        received = self._sqs.receive_message(
            QueueUrl=self.mapping.queue_url,
            MaxNumberOfMessages=min(self.mapping.batch_size, 10),
            WaitTimeSeconds=wait_s,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not received:
            return 0
        self.batches += 1
        received_visibility = self._visible_at(received)
        response = self._lambda.invoke(
            FunctionName=self.mapping.function_name, Payload=json.dumps(self._event(received)).encode()
        )
        payload = response["Payload"].read()
        failed = self._failed_ids(received, response.get("FunctionError"), payload)
        now_visible_at = self._visible_at(received)
        for message in received:
            message_id = message["MessageId"]
            if message_id not in failed:
                self._sqs.delete_message(QueueUrl=self.mapping.queue_url, ReceiptHandle=message["ReceiptHandle"])
                continue
            set_by_function = now_visible_at.get(message_id) != received_visibility.get(message_id)
            if set_by_function and self.visibility_scale == 1.0:
                continue  # as Lambda: it comes back when the visibility the function set runs out
            if set_by_function:
                left_s = max(0.0, now_visible_at[message_id] / 1000 - time.time())
                delay = math.ceil(left_s * self.visibility_scale)
            else:
                delay = self._retry_delay_s
            self._sqs.change_message_visibility(
                QueueUrl=self.mapping.queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=delay
            )
        return len(received)

    def _visible_at(self, messages: list[dict[str, Any]]) -> dict[str, float]:
        """Each received message's visibility deadline (epoch ms) as moto holds it: no SQS API reads it back."""
        _, _, _, region, account, name = self.mapping.queue_arn.split(":")
        queue = sqs_backends[account][region].queues[name]
        wanted = {m["MessageId"] for m in messages}
        return {m.id: m.visible_at for m in list(queue._messages) if m.id in wanted}

    def _failed_ids(self, received: list[dict[str, Any]], function_error: str | None, payload: bytes) -> set[str]:
        all_ids = {m["MessageId"] for m in received}
        if function_error:
            return all_ids
        if not self.mapping.report_batch_item_failures:
            return set()
        try:
            failures = json.loads(payload or b"null") or {}
            return {f["itemIdentifier"] for f in failures.get("batchItemFailures", [])}
        except (ValueError, TypeError, KeyError, AttributeError):
            return all_ids  # an unreadable partial-failure response fails the whole batch, as Lambda does

    def _event(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        region = self.mapping.queue_arn.split(":")[3]
        return {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": m.get("Attributes", {}),
                    "messageAttributes": {
                        name: {
                            "stringValue": value.get("StringValue"),
                            "binaryValue": value.get("BinaryValue"),
                            "stringListValues": [],
                            "binaryListValues": [],
                            "dataType": value["DataType"],
                        }
                        for name, value in m.get("MessageAttributes", {}).items()
                    },
                    "md5OfBody": m["MD5OfBody"],
                    "eventSource": "aws:sqs",
                    "eventSourceARN": self.mapping.queue_arn,
                    "awsRegion": region,
                }
                for m in messages
            ]
        }


def sqs_mappings(lambda_client: Any, sqs: Any, function_names: set[str]) -> list[SqsMapping]:
    """The enabled SQS event source mappings of the given functions."""
    mappings = []
    for esm in lambda_client.list_event_source_mappings()["EventSourceMappings"]:
        arn = esm["EventSourceArn"]
        if esm["FunctionArn"].rsplit(":", 1)[-1] not in function_names:
            continue
        if ":sqs:" not in arn or esm.get("State", "Enabled") not in {"Enabled", "Creating"}:
            continue
        queue_url = sqs.get_queue_url(QueueName=arn.rsplit(":", 1)[1])["QueueUrl"]
        mappings.append(
            SqsMapping(
                function_name=esm["FunctionArn"],
                queue_url=queue_url,
                queue_arn=arn,
                batch_size=int(esm.get("BatchSize", 10)),
                report_batch_item_failures="ReportBatchItemFailures" in (esm.get("FunctionResponseTypes") or []),
            )
        )
    return mappings


def detach_moto_sqs_triggers() -> None:
    """Stop moto from invoking functions inside SendMessage: the pollers do it, asynchronously, as Lambda does."""
    for regions in sqs_backends.values():
        for backend in regions.values():
            for queue in backend.queues.values():
                queue.lambda_event_source_mappings.clear()

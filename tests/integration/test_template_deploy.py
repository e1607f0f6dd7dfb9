"""template.yaml, deployed into moto through CloudFormation, declares what the flows rely on."""

from __future__ import annotations

import json

from devstack.app import TEMPLATE, Devstack
from devstack.template import load_sam


def test_the_work_queue_is_fifo_with_a_dlq_redrive(devstack: Devstack) -> None:
    # Given the deployed stack
    assert devstack.stack is not None
    sqs = devstack.stack.client("sqs")
    # When the work queue's attributes are read
    attributes = sqs.get_queue_attributes(QueueUrl=devstack.stack.output("WorkQueueUrl"), AttributeNames=["All"])[
        "Attributes"
    ]
    # Then it is FIFO, without content-based dedup (the provider's event id is the dedup id), and redrives to the DLQ
    assert attributes["FifoQueue"] == "true"
    assert attributes.get("ContentBasedDeduplication", "false") == "false"
    redrive = json.loads(attributes["RedrivePolicy"])
    dlq_arn = sqs.get_queue_attributes(
        QueueUrl=devstack.stack.output("WorkDeadLetterQueueUrl"), AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    assert redrive["deadLetterTargetArn"] == dlq_arn and dlq_arn.endswith(".fifo")
    assert int(redrive["maxReceiveCount"]) >= 3


def test_the_tables_have_the_documented_keys(devstack: Devstack) -> None:
    assert devstack.stack is not None
    dynamodb = devstack.stack.client("dynamodb")
    mappings = dynamodb.describe_table(TableName=devstack.stack.output("MappingsTableName"))["Table"]
    idempotency = dynamodb.describe_table(TableName=devstack.stack.output("IdempotencyTableName"))["Table"]
    assert [(k["AttributeName"], k["KeyType"]) for k in mappings["KeySchema"]] == [("PK", "HASH"), ("SK", "RANGE")]
    assert [(k["AttributeName"], k["KeyType"]) for k in idempotency["KeySchema"]] == [("id", "HASH")]


def test_the_idempotency_table_expires_records_by_ttl() -> None:
    # moto does not apply TimeToLiveSpecification, so the template itself is checked: Powertools writes "expiration".
    table = load_sam(TEMPLATE)["Resources"]["IdempotencyTable"]["Properties"]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}


def test_the_snapshot_bucket_is_private_and_encrypted(devstack: Devstack) -> None:
    assert devstack.stack is not None
    s3 = devstack.stack.client("s3")
    bucket = devstack.stack.output("SnapshotBucketName")
    encryption = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert encryption["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] in {"AES256", "aws:kms"}
    # moto's CloudFormation does not apply PublicAccessBlockConfiguration: the template itself is checked.
    block = load_sam(TEMPLATE)["Resources"]["SnapshotBucket"]["Properties"]["PublicAccessBlockConfiguration"]
    assert all(block[k] for k in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"))


def test_the_wix_app_secret_lives_in_secrets_manager_not_in_function_environments(devstack: Devstack) -> None:
    assert devstack.stack is not None
    secret = devstack.stack.client("secretsmanager").get_secret_value(SecretId=devstack.stack.output("WixAppSecretArn"))
    assert secret["SecretString"] == devstack.options.wix_app_secret
    lambda_client = devstack.stack.client("lambda")
    for function in lambda_client.list_functions()["Functions"]:
        variables = function.get("Environment", {}).get("Variables", {})
        assert devstack.options.wix_app_secret not in variables.values(), function["FunctionName"]


def test_functions_get_their_configuration_resolved_from_the_stack(devstack: Devstack) -> None:
    assert devstack.stack is not None
    config = devstack.stack.client("lambda").get_function_configuration(
        FunctionName=devstack.stack.function_name("WixWebhookFunction")
    )
    variables = config["Environment"]["Variables"]
    assert variables["WORK_QUEUE_URL"] == devstack.stack.output("WorkQueueUrl")
    assert variables["WIX_API_BASE_URL"] == devstack.wix_url
    assert variables["POWERTOOLS_SERVICE_NAME"] == "posbridge-wix-webhook"  # the function's own, over Globals
    assert config["Runtime"] == "python3.11"
    # moto's CloudFormation drops Architectures; the template declares Graviton for every function.
    assert load_sam(TEMPLATE)["Globals"]["Function"]["Architectures"] == ["arm64"]

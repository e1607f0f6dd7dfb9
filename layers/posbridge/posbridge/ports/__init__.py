"""The ports: every Protocol the flows (flows/) depend on, and nothing else. Flows import only domain/ and these;
adapters (store/, wix/, pos/<provider>/, messaging.py, executions.py, secrets.py) implement them, and the handlers'
wiring (wiring.py) plugs the adapters in. The import-linter contracts in pyproject.toml ([tool.importlinter]) hold
the flows to it (`make lint`).

- ports/pos.py: the POS gateway, the POS catalog reader, the POS webhooks;
- ports/wix.py: the Wix APIs the flows call (orders, fulfillments, menus) and the reading of Wix's order events;
- ports/stores.py: the stores the flows keep their records in (DynamoDB, S3, Secrets Manager behind them);
- ports/work.py: the work queues and the catalog workflow's executions.
"""

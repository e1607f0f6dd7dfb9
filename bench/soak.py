"""`make soak`: a chaos soak of the devstack. It stops by itself, prints a table and writes bench/soak.json.

Restaurants (one Wix site + one Square merchant each) take online orders (Flow 1) and ring up orders on the POS
(Flow 2), and their kitchens move online orders along (Flow 3), while:
- the Wix and Square sandboxes deliver 10% of webhooks twice (the copy after the next webhook), 5% late (after the
  next one) and lose 5%;
- 20% of the bridge's Wix and Square API requests answer 429, 5xx, never answer (the connection drops, the request
  processed or not), or are processed and then answer 500 (devstack/faults.py `Chaos`);
- the scheduled reconciliation runs every `reconcile_every_s` (the template's schedule, scaled down), as EventBridge
  would invoke it, and heals what lost webhooks left behind.
Then it waits (bounded) until every order is on the other side exactly once with its last status, and reports:
duplicates (two POS orders for one Wix order, two Wix orders for one POS order, an order imported back to where it
came from), lost (an order never on the other side), not converged (on the other side but a status behind), DLQ
entries by reason, time to converge, partner calls per order, and the AWS usage the cost model prices (bench/cost.py).

Seeded: the orders, the webhook fates and the partner faults are drawn from `--seed`; thread timing still varies the
interleaving, so two runs with one seed fault the same share of requests, not always the same requests.

python -m bench.soak [--orders 1000] [--seed 13] [--max-seconds 900] [--json bench/soak.json]
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import random
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

from devstack.app import Devstack, DevstackOptions
from devstack.kitchen import Kitchen
from devstack.meter import EMPTY_RECEIVE, AwsMeter, Usage
from devstack.pollers import EVENT_SOURCE_PREFIX
from devstack.runtime import RUNTIME, Invocation, current_caller

SOAK_JSON = Path(__file__).resolve().parent / "soak.json"
MOVES = (("RESERVED", "Accepted"), ("PREPARED", "Ready"), ("COMPLETED", "Fulfilled"))
SCHEDULED_EVENT = {"source": "aws.events", "detail-type": "Scheduled Event", "detail": {}}
MENU = (("Soup", 650), ("Pasta", 1300), ("Salad", 900), ("Tiramisu", 600))


@dataclass
class SoakConfig:
    orders: int = 1000  # online (Wix) orders
    seed: int = 13
    pos_share: float = 0.3  # POS orders per online order
    status_share: float = 0.2  # status changes per online order
    orders_per_tenant: int = 100
    partner_fault_rate: float = 0.2
    duplicate_rate: float = 0.10
    reorder_rate: float = 0.05
    drop_rate: float = 0.05
    reconcile_every_s: float = 20.0
    max_seconds: float = 2400.0  # the whole soak, load included; then it reports what has not converged
    load_threads: int = 3
    # Customers wait while this many messages are queued: moto's SQS scans the whole queue per call, so a backlog of
    # thousands slows every call of the bridge; a real restaurant's orders come at their own pace anyway.
    max_backlog: int = 40
    poison: int = 0  # true poison sent (Wix order events without an order); 0: one per 250 online orders, 2 at least

    @property
    def pos_orders(self) -> int:
        return round(self.orders * self.pos_share)

    @property
    def status_changes(self) -> int:
        return round(self.orders * self.status_share)

    @property
    def poison_events(self) -> int:
        return self.poison or max(2, self.orders // 250)

    @property
    def tenants(self) -> int:
        return max(1, round(self.orders / self.orders_per_tenant))


@dataclass
class Site:
    kitchen: Kitchen
    online: list[str] = field(default_factory=list)  # Wix order ids the customers placed
    rung_up: list[str] = field(default_factory=list)  # POS order ids the cashiers rang up
    moves: dict[str, int] = field(default_factory=dict)  # Wix order id -> status changes planned for it
    moved: dict[str, int] = field(default_factory=dict)  # Wix order id -> status changes made on the POS


@dataclass
class Outcome:
    duplicates: dict[str, int]
    lost: dict[str, int]
    not_converged: dict[str, int]
    examples: list[str]

    @property
    def total_duplicates(self) -> int:
        return sum(self.duplicates.values())

    @property
    def total_lost(self) -> int:
        return sum(self.lost.values())

    @property
    def total_not_converged(self) -> int:
        return sum(self.not_converged.values())

    @property
    def converged(self) -> bool:
        return not (self.total_duplicates or self.total_lost or self.total_not_converged)


class Soak:
    def __init__(self, devstack: Devstack, http: httpx.Client, config: SoakConfig) -> None:
        self.devstack = devstack
        self.http = http
        self.config = config
        self.rng = random.Random(config.seed)
        self.sites: list[Site] = []
        self.reconcile_runs: Counter[str] = Counter()
        self._stop_reconciler = threading.Event()
        self._lock = threading.Lock()
        self._depth, self._depth_at = 0, 0.0
        self._deadline = time.monotonic() + config.max_seconds
        # The load stops early enough to leave the bridge a quarter of the time (5 minutes at most) to converge.
        self._load_deadline = self._deadline - min(300.0, config.max_seconds / 4)
        self.reconcile_errors: Counter[str] = Counter()
        self.unplaced: Counter[str] = Counter()  # orders the harness could not place, by kind and error

    # -- set-up ------------------------------------------------------------------------------------------------------

    def open_sites(self) -> None:
        for n in range(self.config.tenants):
            kitchen = Kitchen.open(
                self.devstack, self.http, {"unmappedPosLines": "custom"}, suffix=f"soak{self.config.seed}x{n}"
            )
            self.sites.append(Site(kitchen))

    def send_poison(self) -> dict[str, int]:
        """True poison, before the chaos (which could lose it): signed Wix order_approved events that carry no order.
        The worker must park each in the DLQ as invalid_wix_event; answers the DLQ reasons expected."""
        for n in range(self.config.poison_events):
            site = self.sites[n % len(self.sites)]
            self.http.post(
                f"{self.devstack.wix_url}/_sandbox/webhooks/send",
                json={
                    "instanceId": site.kitchen.instance_id,
                    "eventType": "wix.ecom.v1.order_approved",
                    "entityId": f"poison-{self.config.seed}-{n}",
                    "event": {"actionEvent": {"body": {}}},
                },
            ).raise_for_status()
        return {"invalid_wix_event": self.config.poison_events}

    def unleash_chaos(self) -> None:
        c = self.config
        for base, offset in ((self.devstack.wix_url, 1), (self.devstack.pos_url, 2)):
            self.http.post(
                f"{base}/_sandbox/chaos", json={"rate": c.partner_fault_rate, "seed": c.seed * 10 + offset}
            ).raise_for_status()
            plan = {
                "duplicateRate": c.duplicate_rate,
                "reorderRate": c.reorder_rate,
                "dropRate": c.drop_rate,
                "seed": c.seed * 10 + offset + 2,
            }
            self.http.post(f"{base}/_sandbox/webhooks/delivery", json=plan).raise_for_status()

    def calm(self) -> None:
        for base in (self.devstack.wix_url, self.devstack.pos_url):
            self.http.delete(f"{base}/_sandbox/chaos")
            self.http.post(f"{base}/_sandbox/webhooks/delivery", json={})

    # -- load --------------------------------------------------------------------------------------------------------

    def _lines(self) -> list[tuple[str, int, int]]:
        return [(name, cents, self.rng.randint(1, 3)) for name, cents in self.rng.sample(MENU, self.rng.randint(1, 2))]

    def plan(self) -> list[tuple[Site, str, list[tuple[str, int, int]]]]:
        """Every order to place, seeded: (site, "online" | "pos", lines), shuffled."""
        c = self.config
        actions = [(self.sites[i % len(self.sites)], "online", self._lines()) for i in range(c.orders)]
        actions += [(self.sites[i % len(self.sites)], "pos", self._lines()) for i in range(c.pos_orders)]
        self.rng.shuffle(actions)
        return actions

    def _wait_for_room(self) -> bool:
        """False once the soak's time is up: the orders not placed by then are not placed (the counts say so)."""
        while time.monotonic() < self._load_deadline:
            with self._lock:
                if time.monotonic() - self._depth_at > 0.5:
                    self._depth, self._depth_at = self.queue_depth(), time.monotonic()
                if self._depth < self.config.max_backlog:
                    self._depth += 1
                    return True
            time.sleep(0.25)
        return False

    def place(self, site: Site, kind: str, lines: list[tuple[str, int, int]]) -> None:
        if not self._wait_for_room():
            return
        try:
            self._place(site, kind, lines)
        except httpx.HTTPError as exc:
            # The harness lost the sandbox's answer (a customer's checkout page timing out): counted, and the soak
            # goes on; such an order may exist without the soak knowing its id, so it is neither checked nor lost.
            with self._lock:
                self.unplaced[f"{kind}: {type(exc).__name__}"] += 1

    def _place(self, site: Site, kind: str, lines: list[tuple[str, int, int]]) -> None:
        kitchen = site.kitchen
        if kind == "online":
            order = kitchen.checkout(
                [{"kind": "restaurant", "name": n, "price": f"{c / 100:.2f}", "quantity": q} for n, c, q in lines]
            )
            with self._lock:
                site.online.append(str(order["id"]))
        else:
            pos = kitchen.ring_up(
                [
                    {"name": n, "quantity": str(q), "base_price_money": {"amount": c, "currency": "USD"}}
                    for n, c, q in lines
                ]
            )
            with self._lock:
                site.rung_up.append(str(pos["id"]))

    def place_all(self) -> None:
        with ThreadPoolExecutor(self.config.load_threads) as pool:
            for future in [pool.submit(self.place, *action) for action in self.plan()]:
                future.result()

    def _plan_moves(self) -> int:
        """Status changes, seeded, spread over the load: as online orders are placed, the kitchens pick some of them
        to move one to three steps, up to `status_changes` in all. Answers the changes still to plan."""
        c = self.config
        with self._lock:
            placed = sum(len(site.online) for site in self.sites)
            candidates = [(site, w) for site in self.sites for w in site.online if w not in site.moves]
        planned = sum(sum(site.moves.values()) for site in self.sites)
        due = min(c.status_changes, round(c.status_changes * placed / max(c.orders, 1))) - planned
        self.rng.shuffle(candidates)
        for site, wix_id in candidates:
            if due <= 0:
                break
            steps = min(due, self.rng.randint(1, 3))
            site.moves[wix_id] = steps
            due -= steps
            planned += steps
        return c.status_changes - planned

    def make_moves(self, deadline: float, load_done: threading.Event) -> None:
        """The kitchens move each planned order one step per round, once the bridge has put it on the POS."""
        while time.monotonic() < deadline:
            unplanned = self._plan_moves()
            pending = 0
            for site in self.sites:
                wanted = {w: n for w, n in site.moves.items() if site.moved.get(w, 0) < n}
                if not wanted:
                    continue
                by_reference = {o.get("reference_id"): o for o in site.kitchen.pos_state()["orders"]}
                for wix_id, steps in wanted.items():
                    pos = by_reference.get(wix_id)
                    if pos is None:
                        pending += 1
                        continue
                    done = site.moved.get(wix_id, 0)
                    site.kitchen.move(pos["id"], MOVES[done][0])
                    site.moved[wix_id] = done + 1
                    pending += int(done + 1 < steps)
            if load_done.is_set() and not pending and not unplanned:
                return
            time.sleep(1.0)

    # -- the schedule ------------------------------------------------------------------------------------------------

    def reconcile_on_schedule(self) -> None:
        assert self.devstack.stack is not None
        while not self._stop_reconciler.wait(self.config.reconcile_every_s):
            try:
                payload, error = self.devstack.stack.invoke("ReconcilerFunction", SCHEDULED_EVENT)
                ok = not error and bool((payload or {}).get("ok"))
                self.reconcile_runs["ok" if ok else "failed"] += 1
                if error:
                    self.reconcile_errors[f"{error}: {(payload or {}).get('errorType')!s}"] += 1
                for tenant in (payload or {}).get("tenants") or [] if not error else []:
                    if not tenant.get("ok"):
                        self.reconcile_errors[str(tenant.get("error"))[:120]] += 1
            except Exception as exc:  # a moto hiccup: the next run of the schedule tries again
                self.reconcile_runs["failed"] += 1
                self.reconcile_errors[type(exc).__name__] += 1

    # -- what is true ------------------------------------------------------------------------------------------------

    def check(self) -> Outcome:
        duplicates: Counter[str] = Counter()
        lost: Counter[str] = Counter()
        behind: Counter[str] = Counter()
        examples: list[str] = []
        doubled: list[str] = []  # listed first: the worst
        for site in self.sites:
            kitchen = site.kitchen
            pos_orders = kitchen.pos_state()["orders"]
            wix = kitchen.wix_state()
            wix_orders = wix["orders"]
            pos_by_ref = Counter(o.get("reference_id") for o in pos_orders)
            wix_by_ext = Counter((o.get("channelInfo") or {}).get("externalOrderId") for o in wix_orders)
            online, rung_up = set(site.online), set(site.rung_up)
            exported = {o["id"] for o in pos_orders if o.get("reference_id") in online}
            imported = {o["id"] for o in wix_orders if (o.get("channelInfo") or {}).get("externalOrderId") in rung_up}
            for wix_id in site.online:
                if pos_by_ref[wix_id] > 1:
                    duplicates["POS orders for one Wix order"] += pos_by_ref[wix_id] - 1
                    doubled.append(f"{kitchen.instance_id}: {pos_by_ref[wix_id]} POS orders for Wix {wix_id}")
                elif pos_by_ref[wix_id] == 0:
                    lost["Wix orders never on the POS"] += 1
                    examples.append(f"{kitchen.instance_id}: Wix {wix_id} not on the POS")
            for pos_id in site.rung_up:
                if wix_by_ext[pos_id] > 1:
                    duplicates["Wix orders for one POS order"] += wix_by_ext[pos_id] - 1
                    doubled.append(f"{kitchen.instance_id}: {wix_by_ext[pos_id]} Wix orders for POS {pos_id}")
                elif wix_by_ext[pos_id] == 0:
                    lost["POS orders never in Wix"] += 1
                    examples.append(f"{kitchen.instance_id}: POS {pos_id} not in Wix")
            # Loops: an exported order imported back into Wix, or an imported one exported back to the POS.
            duplicates["online orders imported back into Wix"] += sum(wix_by_ext[p] for p in exported)
            duplicates["POS orders exported back to the POS"] += sum(pos_by_ref[w] for w in imported)
            for wix_id, done in site.moved.items():
                want = MOVES[done - 1][1]
                shown = (wix["fulfillments"].get(wix_id) or [{}])[0].get("status")
                if shown != want:
                    behind["Wix status behind the POS"] += 1
                    examples.append(f"{kitchen.instance_id}: Wix {wix_id} shows {shown}, the POS says {want}")
        return Outcome(
            {k: v for k, v in duplicates.items() if v},
            {k: v for k, v in lost.items() if v},
            {k: v for k, v in behind.items() if v},
            (doubled + examples)[:10],
        )

    def dlq(self) -> Counter[str]:
        """Messages parked in the work queue's DLQ, by reason (without reading their bodies' personal data)."""
        assert self.devstack.stack is not None
        sqs = self.devstack.stack.client("sqs")
        url = self.devstack.stack.output("WorkDeadLetterQueueUrl")
        reasons: Counter[str] = Counter()
        seen: set[str] = set()
        while True:
            messages = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=60
            ).get("Messages", [])
            fresh = [m for m in messages if m["MessageId"] not in seen]
            if not fresh:
                return reasons
            for message in fresh:
                seen.add(message["MessageId"])
                reason = (message.get("MessageAttributes") or {}).get("reason", {}).get("StringValue")
                reasons[reason or "retries_exhausted"] += 1

    def queue_depth(self) -> int:
        assert self.devstack.stack is not None
        attributes = self.devstack.stack.client("sqs").get_queue_attributes(
            QueueUrl=self.devstack.stack.output("WorkQueueUrl"),
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def partner_calls(self) -> dict[str, int]:
        """Requests that reached each partner: the sandboxes' per-route counters, plus what chaos refused unprocessed
        (it answers before the route counts)."""
        wix = sum(sum(site.kitchen.wix_calls().values()) for site in self.sites)
        square = sum(sum(site.kitchen.pos_state()["calls"].values()) for site in self.sites)
        for name, base in (("wix", self.devstack.wix_url), ("square", self.devstack.pos_url)):
            applied = self.http.get(f"{base}/_sandbox/chaos").json()["applied"]
            refused = applied.get("throttled", 0) + applied.get("server_error", 0)
            refused += applied.get("timeout", 0) - applied.get("timeout_processed", 0)
            if name == "wix":
                wix += refused
            else:
                square += refused
        return {"wix": wix, "square": square}

    def chaos_applied(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for name, base in (("wix", self.devstack.wix_url), ("square", self.devstack.pos_url)):
            found[f"{name}_api_faults"] = self.http.get(f"{base}/_sandbox/chaos").json()["applied"]
        wix, square = self.devstack.wix, self.devstack.square
        if wix is not None and square is not None:
            found["wix_webhooks"] = dict(wix.dispatcher.chaos_counts)
            found["square_webhooks"] = dict(square.dispatcher.chaos_counts)
        return found

    # -- the run -----------------------------------------------------------------------------------------------------

    def run(self, logs: LogMeter | None = None) -> dict[str, Any]:
        c = self.config
        deadline = self._deadline
        self.open_sites()
        first_invocation = len(RUNTIME.invocations)
        log_bytes = logs.bytes if logs else 0
        with AwsMeter.measure() as usage:
            poison = self.send_poison()
            self.unleash_chaos()
            reconciler = threading.Thread(target=self.reconcile_on_schedule, name="soak-schedule", daemon=True)
            reconciler.start()
            load_started = time.monotonic()
            load_done = threading.Event()
            kitchens = threading.Thread(
                target=self.make_moves, args=(self._load_deadline, load_done), name="soak-kitchens", daemon=True
            )
            kitchens.start()
            self.place_all()
            load_done.set()
            kitchens.join()
            for sandbox in (self.devstack.wix, self.devstack.square):
                if sandbox is not None:
                    sandbox.dispatcher.flush_late()
            load_s = time.monotonic() - load_started
            load_ended = time.monotonic()
            outcome = self.check()
            while time.monotonic() < deadline and not (outcome.converged and self.queue_depth() == 0):
                time.sleep(2)
                outcome = self.check()
            converge_s = time.monotonic() - load_ended
            self._stop_reconciler.set()
            reconciler.join(timeout=c.reconcile_every_s + 60)
            partner = self.partner_calls()
            chaos = self.chaos_applied()
            self.calm()
        invocations = RUNTIME.invocations[first_invocation:]
        dlq = self.dlq()
        placed = len([w for s in self.sites for w in s.online]) + len([p for s in self.sites for p in s.rung_up])
        return {
            "config": {**asdict(c), "pos_orders": c.pos_orders, "status_changes": c.status_changes,
                       "tenants": c.tenants, "poison": c.poison_events},
            "placed": {
                "wix_orders": sum(len(s.online) for s in self.sites),
                "pos_orders": sum(len(s.rung_up) for s in self.sites),
                "status_changes": sum(sum(s.moved.values()) for s in self.sites),
            },
            "unplaced": dict(self.unplaced),
            "chaos": chaos,
            "duplicates": outcome.duplicates,
            "lost": outcome.lost,
            "not_converged": outcome.not_converged,
            "examples": outcome.examples,
            "dlq": dict(dlq),
            "dlq_poison_sent": poison,
            "dlq_not_poison": dict(dlq - Counter(poison)),
            "poison_not_parked": dict(Counter(poison) - dlq),
            "converged": outcome.converged,
            "load_s": round(load_s, 1),
            "converge_s": round(converge_s, 1),
            "reconcile_runs": dict(self.reconcile_runs),
            "reconcile_errors": dict(self.reconcile_errors),
            "partner_calls": partner,
            "partner_calls_per_order": {k: round(v / max(placed, 1), 2) for k, v in partner.items()},
            "aws": {**aws_usage(usage, invocations, self.devstack),
                    "log_bytes": (logs.bytes - log_bytes) if logs else None},
        }  # fmt: skip


def aws_usage(usage: Usage, invocations: list[Invocation], devstack: Devstack) -> dict[str, Any]:
    """The counts the cost model prices (bench/cost.py), from the meter and the runtime's invocation records."""
    assert devstack.stack is not None
    by_function: dict[str, dict[str, float]] = {}
    logical = {physical: logical for logical, physical in devstack.stack.physical_ids.items()}
    api_functions = {route.function_logical_id for route in devstack.stack.routes}
    api_requests = 0
    for invocation in invocations:
        name = logical.get(invocation.function_name, invocation.function_name)
        entry = by_function.setdefault(name, {"invocations": 0, "billed_ms": 0.0, "gb_s": 0.0, "memory_mb": 0})
        billed = float(max(1, int(invocation.duration_ms + 0.999)))  # Lambda bills per 1 ms, rounded up
        entry["invocations"] += 1
        entry["billed_ms"] += billed
        entry["gb_s"] += billed / 1000 * invocation.memory_mb / 1024
        entry["memory_mb"] = invocation.memory_mb
        api_requests += int(name in api_functions)
    return {
        "lambda": {k: {**v, "gb_s": round(v["gb_s"], 3)} for k, v in sorted(by_function.items())},
        "lambda_invocations": sum(int(v["invocations"]) for v in by_function.values()),
        "lambda_gb_s": round(sum(v["gb_s"] for v in by_function.values()), 3),
        "dynamodb_read_units": round(usage.read_units, 1),
        "dynamodb_write_units": round(usage.write_units, 1),
        "sqs_requests": usage.count("sqs") - usage.count("sqs", EMPTY_RECEIVE),
        "sqs_requests_by_event_source": usage.count("sqs", caller_prefix=EVENT_SOURCE_PREFIX)
        - usage.count("sqs", EMPTY_RECEIVE),
        "sqs_empty_receives": usage.count("sqs", EMPTY_RECEIVE),
        "secretsmanager_requests": usage.count("secretsmanager"),
        "stepfunctions_requests": usage.count("stepfunctions"),
        "s3_requests": usage.count("s3"),
        "api_requests": api_requests,
        "calls": {f"{svc}:{op}": n for (_, svc, op), n in sorted(_by_operation(usage).items())},
    }


def _by_operation(usage: Usage) -> Counter[tuple[str, str, str]]:
    merged: Counter[tuple[str, str, str]] = Counter()
    for (_, service, operation), n in usage.calls.items():
        merged[("", service, operation)] += n
    return merged


class LogMeter(io.TextIOBase):
    """Stands in for stdout: what the functions write (their JSON logs, what CloudWatch Logs would ingest) is counted
    and dropped; everything else goes through. Powertools binds a logger's stream at its first import, so only
    functions first imported after `install` are counted (all of them, in a process of its own like `make soak`)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.bytes = 0

    def write(self, text: str) -> int:
        if current_caller() is not None:
            self.bytes += len(text.encode())
            return len(text)
        return int(self.inner.write(text))

    def flush(self) -> None:
        self.inner.flush()


def run_soak(config: SoakConfig) -> dict[str, Any]:
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    logging.getLogger("posbridge").setLevel(logging.ERROR)  # each retried fault would print a line
    meter, stdout = LogMeter(sys.stdout), sys.stdout
    sys.stdout = meter
    try:
        # INFO, the template's default LogLevel: the log volume is part of the cost.
        with Devstack(DevstackOptions(log_level="INFO")) as devstack, httpx.Client(timeout=60) as http:
            soak = Soak(devstack, http, config)
            result = soak.run(meter)
    finally:
        sys.stdout = stdout
    return result


def table(result: dict[str, Any]) -> list[tuple[str, str]]:
    placed, aws = result["placed"], result["aws"]
    per_order = result["partner_calls_per_order"]

    def listed(found: dict[str, int]) -> str:
        return ", ".join(f"{k}: {v}" for k, v in found.items()) or "0"

    return [
        ("orders placed", f"{placed['wix_orders']} Wix, {placed['pos_orders']} POS, "
                          f"{placed['status_changes']} status changes, {result['config']['tenants']} sites"),
        ("orders the harness could not place", listed(result["unplaced"])),
        ("duplicates (goal 0)", listed(result["duplicates"])),
        ("lost (goal 0)", listed(result["lost"])),
        ("not converged (goal 0)", listed(result["not_converged"])),
        ("DLQ entries by reason", listed(result["dlq"]) + f" (poison sent: {listed(result['dlq_poison_sent'])})"),
        ("DLQ entries that are not poison (goal 0)", listed(result["dlq_not_poison"])),
        ("time to converge after the load", f"{result['converge_s']} s (load {result['load_s']} s)"),
        ("partner calls per order", f"Wix {per_order['wix']}, Square {per_order['square']}"),
        ("reconciliation runs", listed(result["reconcile_runs"])),
        ("faults applied", json.dumps(result["chaos"], separators=(",", ":"))),
        ("Lambda invocations / GB-s", f"{aws['lambda_invocations']} / {aws['lambda_gb_s']}"),
        ("DynamoDB RRU / WRU", f"{aws['dynamodb_read_units']} / {aws['dynamodb_write_units']}"),
        ("SQS requests (of which Lambda's poller)", f"{aws['sqs_requests']} ({aws['sqs_requests_by_event_source']})"),
        ("function log bytes (LogLevel INFO)", str(aws.get("log_bytes"))),
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1000, help="online (Wix) orders; POS orders and status "
                        "changes scale with it (30%%, 20%%)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--max-seconds", type=float, default=2400.0, help="stop and report after this long")
    parser.add_argument("--json", type=Path, default=SOAK_JSON, help="where to write the results")
    args = parser.parse_args(argv)
    config = SoakConfig(orders=args.orders, seed=args.seed, max_seconds=args.max_seconds)
    result = run_soak(config)
    result["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    from bench.cost import soak_cost  # prices the AWS usage counted above

    result["cost"] = soak_cost(result)
    rows = table(result) + [(k, v) for k, v in result["cost"]["table"]]
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    for example in result["examples"]:
        print(f"  e.g. {example}")
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwritten to {args.json}")
    clean = result["converged"] and not result["dlq_not_poison"] and not result["poison_not_parked"]
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())

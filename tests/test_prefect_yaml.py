"""Static checks of prefect.yaml, offline (no Prefect server: ``prefect deploy`` needs
an API; https://docs.prefect.io/v3/how-to-guides/deployments/prefect-yaml).

`prefect deploy` needs a live API, so CI checks the file the way deploy reads it: the YAML
loads, every entrypoint imports as a Prefect flow, every parameter a deployment or a
schedule sets exists in the flow's signature and fits its type, schedules parse with
Prefect's own schedule models, and everything runs on the `skubridge` work pool. The
commented per-shop schedule examples are checked too, so the documentation cannot rot.
Entrypoints whose file does not exist yet are skipped with the reason.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
PREFECT_YAML = ROOT / "prefect.yaml"

# Entry points fixed by the design; each needs a deployment of the same flow name.
EXPECTED_FLOWS = {
    "flows/sync_shop.py:sync_shop": "sync-shop",
    "flows/sync_all.py:sync_all": "sync-all",
    "flows/relay_orders.py:relay_orders": "relay-orders",
    "flows/push_prices_and_stock.py:push_prices_and_stock": "push-prices-and-stock",
    "flows/map_product.py:map_product": "map-product",
    "flows/sync_catalog.py:sync_catalog": "sync-catalog",
}
SCHEDULE_KEYS = {
    "cron",
    "interval",
    "rrule",
    "timezone",
    "anchor_date",
    "day_or",
    "active",
    "slug",
    "parameters",
    "replaces",
}
DEPLOYMENT_KEYS = {
    "name",
    "version",
    "tags",
    "description",
    "entrypoint",
    "parameters",
    "enforce_parameter_schema",
    "schedules",
    "concurrency_limit",
    "triggers",
    "work_pool",
    "build",
    "push",
    "pull",
    "paused",
}


def _config() -> dict[str, Any]:
    return yaml.safe_load(PREFECT_YAML.read_text(encoding="utf-8"))


def _deployments() -> list[dict[str, Any]]:
    return _config()["deployments"]


def _by_name(name: str) -> dict[str, Any]:
    return next(d for d in _deployments() if d["name"] == name)


def _load_flow(entrypoint: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Import the flow the way `prefect deploy` does, or skip while its file is missing."""
    path = ROOT / entrypoint.split(":", 1)[0]
    if not path.exists():
        pytest.skip(f"{path.relative_to(ROOT)} not written yet (entrypoint {entrypoint})")
    from prefect.flows import load_flow_from_entrypoint

    monkeypatch.chdir(ROOT)  # entrypoints are relative to the project root
    return load_flow_from_entrypoint(entrypoint)


def _schema(flow: Any) -> dict[str, Any]:
    from prefect.utilities.callables import parameter_schema

    return parameter_schema(flow).model_dump(mode="json")


def _check_parameters(
    schema: dict[str, Any], params: dict[str, Any], *, complete: bool, where: str
) -> None:
    """Every key is a flow parameter and every value fits its JSON schema; with
    ``complete`` the required parameters must all be given (a scheduled run has no one to
    fill them in)."""
    unknown = set(params) - set(schema["properties"])
    assert not unknown, f"{where}: {sorted(unknown)} are not parameters of the flow"
    check = dict(schema)
    if not complete:
        check["required"] = []
    try:
        jsonschema.validate(params, check)
    except jsonschema.ValidationError as exc:
        raise AssertionError(f"{where}: {exc.message}") from None


def _build_schedule(config: dict[str, Any]) -> Any:
    """The Prefect schedule object `prefect deploy` would make of one schedule entry."""
    from prefect.client.schemas.schedules import CronSchedule, IntervalSchedule, RRuleSchedule
    from prefect.types._datetime import parse_datetime

    extra = set(config) - SCHEDULE_KEYS
    assert not extra, f"unknown schedule keys {sorted(extra)}"
    kinds = [k for k in ("cron", "interval", "rrule") if k in config]
    assert len(kinds) == 1, f"a schedule needs exactly one of cron/interval/rrule: {config}"
    timezone = config.get("timezone")
    if "cron" in config:
        kwargs = {"cron": config["cron"], "timezone": timezone, "day_or": config.get("day_or")}
        return CronSchedule(**{k: v for k, v in kwargs.items() if v is not None})
    if "interval" in config:
        interval = config["interval"]
        if isinstance(interval, int | float):
            interval = timedelta(seconds=interval)
        anchor = config.get("anchor_date")
        kwargs = {
            "interval": interval,
            "anchor_date": parse_datetime(anchor) if anchor else None,
            "timezone": timezone,
        }
        return IntervalSchedule(**{k: v for k, v in kwargs.items() if v is not None})
    return RRuleSchedule(rrule=config["rrule"], timezone=timezone)


def _commented_schedules(text: str) -> dict[str, list[dict[str, Any]]]:
    """Commented ``# schedules:`` examples, keyed by the deployment they belong to."""
    found: dict[str, list[dict[str, Any]]] = {}
    lines = text.splitlines()
    current = None
    for index, line in enumerate(lines):
        name = re.match(r"^  - name: (\S+)\s*$", line)
        if name:
            current = name.group(1)
        head = re.match(r"^(\s*)# schedules:\s*$", line)
        if not head or current is None:
            continue
        indent = head.group(1)
        block = ["schedules:"]
        for follow in lines[index + 1 :]:
            if not follow.startswith(indent + "#   "):
                break
            block.append(follow[len(indent) + 1 :])
        found.setdefault(current, []).extend(yaml.safe_load("\n".join(block))["schedules"])
    return found


def test_yaml_loads_with_project_name_and_explicit_pull() -> None:
    config = _config()
    assert config["name"] == "skubridge"
    pull = config["pull"]
    assert pull, "pull must be explicit, or deploy bakes in the deploying machine's cwd"
    step = pull[0]["prefect.deployments.steps.set_working_directory"]
    assert step["directory"] == "{{ $SKUBRIDGE_PROJECT_DIR }}"
    import prefect.deployments.steps as steps

    for entry in pull:
        (qualified,) = entry
        module, _, function = qualified.rpartition(".")
        assert module == "prefect.deployments.steps" and hasattr(steps, function), qualified


def test_every_flow_has_a_deployment_on_the_skubridge_pool() -> None:
    deployments = _deployments()
    names = [d["name"] for d in deployments]
    assert len(names) == len(set(names)), f"duplicate deployment names: {names}"
    entrypoints = {d["entrypoint"] for d in deployments}
    assert set(EXPECTED_FLOWS) <= entrypoints
    for deployment in deployments:
        extra = set(deployment) - DEPLOYMENT_KEYS
        assert not extra, f"{deployment['name']}: unknown keys {sorted(extra)}"
        assert deployment["work_pool"]["name"] == "skubridge", deployment["name"]
        assert deployment.get("enforce_parameter_schema") is True, deployment["name"]
    # The rerun command in the docs and sync_all's default target.
    assert _by_name("sync-shop")["entrypoint"] == "flows/sync_shop.py:sync_shop"


def test_default_schedules_cover_catalog_push_hourly_and_orders_every_five_minutes() -> None:
    hourly = _by_name("sync-all")["schedules"][0]
    assert _build_schedule(hourly).cron == "0 * * * *"
    assert hourly["parameters"]["deployment"] == "sync-shop/sync-shop"
    assert not hourly["parameters"].get("parameters", {}).get("steps"), "all steps hourly"
    orders = _by_name("relay-all")["schedules"][0]
    assert _build_schedule(orders).interval == timedelta(minutes=5)
    # Through sync-shop, so a relay queues behind the same shop's running cycle.
    assert orders["parameters"]["deployment"] == "sync-shop/sync-shop"
    assert orders["parameters"]["parameters"] == {"steps": ["relay"]}
    assert "schedules" not in _by_name("map-product"), "map-product is manual only"


def test_schedules_parse_and_slugs_are_unique() -> None:
    from prefect.server.schemas import schedules as server_schedules

    text = PREFECT_YAML.read_text(encoding="utf-8")
    commented = _commented_schedules(text)
    assert commented, "the commented per-shop schedule examples are gone"
    for deployment in _deployments():
        schedules = deployment.get("schedules") or []
        for group in (schedules, commented.get(deployment["name"], [])):
            slugs = [s["slug"] for s in group if "slug" in s]
            assert len(slugs) == len(set(slugs)), f"{deployment['name']}: duplicate slugs"
            for config in group:
                schedule = _build_schedule(config)
                # The server's twin of the model computes the run times the scheduler uses.
                server_model = getattr(server_schedules, type(schedule).__name__)
                dates = server_model.model_validate(schedule.model_dump()).get_dates(3)
                if inspect.isawaitable(dates):  # cron and rrule compute dates async
                    dates = asyncio.run(dates)
                assert len(dates) == 3 and dates[0] < dates[1] < dates[2], config


def test_fan_out_deployments_never_overlap_themselves() -> None:
    for name in ("sync-all", "relay-all"):
        limit = _by_name(name)["concurrency_limit"]
        assert limit == {"limit": 1, "collision_strategy": "CANCEL_NEW"}, name
    # A shared per-shop deployment must not be limited to 1: that would serialize every
    # shop (per-shop overlap is the flow's `shop-<id>` global concurrency limit).
    for name in ("sync-shop", "relay-orders", "push-prices-and-stock", "sync-catalog"):
        limit = _by_name(name).get("concurrency_limit")
        value = limit["limit"] if isinstance(limit, dict) else limit
        assert value is None or value > 1, name


@pytest.mark.parametrize("entrypoint", sorted(EXPECTED_FLOWS))
def test_entrypoint_imports_and_parameters_fit_the_signature(
    entrypoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    flow = _load_flow(entrypoint, monkeypatch)
    assert flow.name == EXPECTED_FLOWS[entrypoint]
    schema = _schema(flow)
    commented = _commented_schedules(PREFECT_YAML.read_text(encoding="utf-8"))
    for deployment in (d for d in _deployments() if d["entrypoint"] == entrypoint):
        where = f"deployment {deployment['name']}"
        params = deployment.get("parameters") or {}
        _check_parameters(schema, params, complete=False, where=where)
        examples = commented.get(deployment["name"], [])
        for schedule in [*(deployment.get("schedules") or []), *examples]:
            label = f"{where}, schedule {schedule.get('slug')}"
            _check_parameters(schema, schedule.get("parameters") or {}, complete=False, where=label)
            # A scheduled run has nobody to fill in a required parameter.
            merged = {**params, **(schedule.get("parameters") or {})}
            _check_parameters(schema, merged, complete=True, where=label)


def test_fan_out_targets_are_deployments_of_this_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """sync-all's `deployment` parameter names '<flow name>/<deployment name>' entries here,
    the target flow takes the `shop` the fan-out passes, and the extra `parameters` handed
    to every child fit the target flow's signature."""
    known: dict[str, Any] = {}
    for deployment in _deployments():
        flow = _load_flow(deployment["entrypoint"], monkeypatch)
        known[f"{flow.name}/{deployment['name']}"] = (flow, deployment)
    for name in ("sync-all", "relay-all"):
        deployment = _by_name(name)
        for params in [deployment["parameters"]] + [
            {**deployment["parameters"], **s["parameters"]} for s in deployment["schedules"]
        ]:
            target = params["deployment"]
            assert target in known, f"{name} fans out to unknown deployment {target}"
            flow, target_deployment = known[target]
            schema = _schema(flow)
            child = {
                **(target_deployment.get("parameters") or {}),
                **(params.get("parameters") or {}),
                "shop": "acme-us",
            }
            _check_parameters(schema, child, complete=True, where=f"{name} -> {target}")


# -- deployment triggers (webhook events, tasks/events.py) ---------------------------------

# Which deployment each receiver event must start (the orders step also gets the store's
# fulfilment and cancellation topics: the order loop back lands there).
TRIGGERED = {
    "skubridge.tiktok.order.changed": "relay-orders",
    "skubridge.shopify.fulfillment.changed": "relay-orders",
    "skubridge.shopify.order.cancelled": "relay-orders",
    "skubridge.shopify.inventory.changed": "sync-shop",
    "skubridge.shopify.product.changed": "sync-shop",
}
# What a triggered run gets besides the shop: a store change starts a push of what changed
# (it reads both sides' changes itself before planning).
TRIGGER_EXTRA = {"relay-orders": {}, "sync-shop": {"steps": ["push"], "changed_only": True}}


def _triggers() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    return [(d, t) for d in _deployments() for t in d.get("triggers") or []]


def _server_event(name: str, shop: str) -> Any:
    """The event the receiver emits for ``shop``, as the server receives it."""
    from uuid import uuid4

    from prefect.server.events.schemas.events import ReceivedEvent
    from prefect.types._datetime import now

    from tasks.events import shop_resource

    marketplace = name.split(".")[1]
    return ReceivedEvent(
        occurred=now("UTC"),
        event=name,
        resource=shop_resource(shop, marketplace),
        payload={"shop": shop},
        id=uuid4(),
    )


def _render(parameters: dict[str, Any], event: Any) -> dict[str, Any]:
    """Trigger parameters rendered the way the server's run-deployment action does."""
    import copy

    from prefect.server.events.actions import RunDeployment
    from prefect.utilities.schema_tools.hydration import HydrationContext, hydrate

    params = copy.deepcopy(parameters)
    RunDeployment._upgrade_v1_templates(params)  # "{{ ... }}" strings, as in prefect.yaml
    context = HydrationContext(
        raise_on_error=True, render_jinja=True, jinja_context={"event": event}
    )
    return hydrate(params, context)


def test_triggers_validate_as_prefect_deployment_triggers() -> None:
    from uuid import uuid4

    from prefect.cli.deploy._triggers import _initialize_deployment_triggers

    found = _triggers()
    assert {d["name"] for d, _ in found} == set(TRIGGERED.values())
    for deployment, spec in found:
        (trigger,) = _initialize_deployment_triggers(deployment["name"], [dict(spec)])
        trigger.set_deployment_id(uuid4())
        automation = trigger.as_automation()
        assert automation.enabled and automation.actions, deployment["name"]
        # Per shop: the trigger's buckets are keyed by the shop resource.
        assert spec["for_each"] == ["prefect.resource.id"], deployment["name"]


def test_every_receiver_event_starts_its_deployment_for_the_same_shop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from prefect.server.events.schemas.automations import EventTrigger

    from tasks.events import EVENT_NAMES

    assert set(TRIGGERED) <= set(EVENT_NAMES.values())
    fields = set(EventTrigger.model_fields)
    for name, target in TRIGGERED.items():
        event = _server_event(name, "acme-us")
        started = []
        for deployment, spec in _triggers():
            trigger = EventTrigger.model_validate({k: v for k, v in spec.items() if k in fields})
            if trigger.expects(event.event) and trigger.covers_resources(event.resource, []):
                started.append((deployment, spec))
        assert [d["name"] for d, _ in started] == [target], name
        ((deployment, spec),) = started
        rendered = _render(spec["parameters"], event)
        assert rendered == {"shop": "acme-us", **TRIGGER_EXTRA[target]}, name
        flow = _load_flow(deployment["entrypoint"], monkeypatch)
        merged = {**(deployment.get("parameters") or {}), **rendered}
        _check_parameters(_schema(flow), merged, complete=True, where=f"{name} -> {target}")
    # Events of other kinds or resources start nothing.
    from prefect.server.events.schemas.events import Resource

    flow_run = Resource({"prefect.resource.id": "prefect.flow-run.1"})
    for _, spec in _triggers():
        trigger = EventTrigger.model_validate({k: v for k, v in spec.items() if k in fields})
        assert not trigger.expects("skubridge.tiktok.product.changed")
        assert not trigger.covers_resources(flow_run, [])


def test_store_change_trigger_is_debounced_per_shop_within_the_receiver_window() -> None:
    import inspect as inspect_module

    from skubridge.webhooks import create_app

    window = inspect_module.signature(create_app).parameters["window"].default
    push = [t for d, t in _triggers() if d["name"] == "sync-shop"]
    assert push and all(t["posture"] == "Reactive" and t["threshold"] == 1 for t in push)
    # Fires on a shop's first event and absorbs the rest of that window; shorter than the
    # receiver's window, so its next event for the shop starts the next push.
    assert all(0 < t["within"] < window for t in push)
    relay = [t for d, t in _triggers() if d["name"] == "relay-orders"]
    assert relay and all(t["within"] == 0 for t in relay)

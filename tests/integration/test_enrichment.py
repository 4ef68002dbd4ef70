"""Enrichment reads the structured signals through the real SDKs, and the classifier decides on them."""

from __future__ import annotations

from collections.abc import Callable

from autoheal.cloud.enrichment import enrich
from autoheal.domain.alerts import Alert
from autoheal.domain.catalog import load_catalog
from autoheal.domain.classifier import RuleClassifier
from autoheal.settings import Settings
from sandbox import Sandbox
from tests.conftest import FastClock
from tests.integration.test_playbook_adf import failed_run as adf_failed_run
from tests.integration.test_playbook_databricks import failed_run as dbx_failed_run

CLASSIFIER = RuleClassifier(load_catalog())


def test_a_databricks_run_brings_its_termination_details_and_its_clusters_termination_reason(
    load: Callable[[str], Sandbox], settings: Settings, clock: FastClock
) -> None:
    sb = load("cluster-unexpected-termination")
    run_id = dbx_failed_run(sb)
    facts = enrich(Alert(service="databricks", source="manual", run_id=str(run_id)), settings, clock=clock)
    assert (facts.termination_code, facts.termination_type) == ("CLOUD_PROVIDER_SHUTDOWN", "CLOUD_FAILURE")
    assert facts.run_termination_code == "RUN_EXECUTION_ERROR"
    result = CLASSIFIER.classify(facts)
    assert (result.error_type, result.remediable) == ("ClusterUnexpectedTermination", True)
    assert result.rule == "code:CLOUD_PROVIDER_SHUTDOWN" and result.confidence == 0.95


def test_a_cluster_that_is_up_again_gives_no_stale_termination_reason(
    load: Callable[[str], Sandbox], settings: Settings, clock: FastClock
) -> None:
    sb = load("driver-not-responding")
    run_id = dbx_failed_run(sb)
    facts = enrich(Alert(service="databricks", source="manual", run_id=str(run_id)), settings, clock=clock)
    assert facts.termination_code is None
    assert CLASSIFIER.classify(facts).error_type == "DatabricksDriverNotResponding"


def test_an_adf_activity_brings_its_code_failure_type_and_activity_type(
    load: Callable[[str], Sandbox], settings: Settings, clock: FastClock
) -> None:
    sb = load("gateway-timeout")
    run_id = adf_failed_run(sb)
    alert = Alert(service="adf", source="manual", run_id=run_id, resource_group="rg-data", factory="adf-sales")
    facts = enrich(alert, settings, clock=clock)
    assert facts.error_code and facts.failure_type and facts.activity_type
    assert facts.tags == {}  # the scenario's pipeline has no annotations
    assert CLASSIFIER.classify(facts).remediable


def test_job_tags_and_pipeline_annotations_become_the_policys_keys(
    load: Callable[..., Sandbox], settings: Settings, clock: FastClock
) -> None:
    from autoheal.domain.policy import parse_policy, resource_keys
    from sandbox.scenario import load_scenario

    scenario = load_scenario("cluster-unexpected-termination")
    scenario.databricks.jobs[0].tags = {"env": "prod", "team": "sales"}
    sb = load(scenario)
    facts = enrich(Alert(service="databricks", source="manual", run_id=str(dbx_failed_run(sb))), settings, clock=clock)
    assert facts.tags == {"env": "prod", "team": "sales"} and facts.job_name == "nightly-orders"
    keys = resource_keys(facts)
    assert {"env:prod", "tag:team=sales", "job:101", "job:nightly-orders"} <= set(keys)
    assert not parse_policy('[resources]\ndeny = ["env:prod"]\n', "p").allowed(keys)[0]

    adf_scenario = load_scenario("gateway-timeout")
    adf_scenario.adf.factories[0].pipelines[0].annotations = ["env:prod", "critical"]
    adf_scenario.adf.factories[0].pipelines[0].folder = "finance"
    sb = load(adf_scenario)
    alert = Alert(
        service="adf", source="manual", run_id=adf_failed_run(sb), resource_group="rg-data", factory="adf-sales"
    )
    tags = enrich(alert, settings, clock=clock).tags
    assert tags == {"env": "prod", "critical": "", "folder": "finance"}

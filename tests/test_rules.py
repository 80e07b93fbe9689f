"""The pure stop/start rules: what SnoozeDB decides before it calls AWS."""

from __future__ import annotations

import pytest

from bot.domain import Action, Instance, InstanceRef, OutcomeKind, Reason, RoleArn
from bot.errors import InstanceAmbiguous, InstanceNotFound
from bot.rules import could_name_instances, plan, resolve, why_not_stoppable


def instance(
    identifier: str = "staging-db", status: str = "available", **facts: object
) -> Instance:
    account = str(facts.pop("account", "111122223333"))
    region = str(facts.pop("region", "eu-west-1"))
    return Instance(
        ref=InstanceRef(account, region, identifier),
        engine=str(facts.pop("engine", "postgres")),
        instance_class="db.t3.micro",
        status=status,
        **facts,  # type: ignore[arg-type]
    )


def test_available_instance_is_stopped():
    assert plan(instance(), Action.STOP, manual=True, confirmed=False) is None


def test_aurora_member_is_refused_naming_its_cluster():
    """R1: Aurora stops whole clusters, so a member is never stopped alone."""
    writer = instance(
        "app-writer-1", engine="aurora-postgresql", cluster_identifier="app-cluster"
    )

    outcome = plan(writer, Action.STOP, manual=True, confirmed=False)

    assert outcome is not None
    assert (outcome.kind, outcome.reason, outcome.detail) == (
        OutcomeKind.REFUSED,
        Reason.AURORA_MEMBER,
        "app-cluster",
    )


def test_read_replica_and_its_source_are_both_refused():
    """R2: neither side of a replica relation can be stopped."""
    source = instance("staging-db", read_replicas=("staging-db-ro",))
    replica = instance("staging-db-ro", read_replica_source="staging-db")

    for_source = plan(source, Action.STOP, manual=True, confirmed=False)
    for_replica = plan(replica, Action.STOP, manual=True, confirmed=False)

    assert for_source is not None and for_source.reason is Reason.HAS_READ_REPLICAS
    assert for_source.detail == "staging-db-ro"
    assert for_replica is not None and for_replica.reason is Reason.READ_REPLICA
    assert for_replica.detail == "staging-db"


def test_stopping_a_stopped_instance_is_success_already_stopped():
    """R4: a second stop is not an error."""
    outcome = plan(
        instance(status="stopped"), Action.STOP, manual=True, confirmed=False
    )

    assert outcome is not None and outcome.kind is OutcomeKind.ALREADY_STOPPED
    assert outcome.kind.succeeded


def test_starting_an_available_instance_is_success_already_running():
    """R4: starting a running database is not an error."""
    outcome = plan(instance(), Action.START, manual=True, confirmed=False)

    assert outcome is not None and outcome.kind is OutcomeKind.ALREADY_RUNNING


@pytest.mark.parametrize("status", ["backing-up", "modifying", "starting", "rebooting"])
def test_busy_instance_is_not_stopped(status: str):
    """R3: only an available instance is stopped; other states are reported."""
    outcome = plan(instance(status=status), Action.STOP, manual=True, confirmed=False)

    assert outcome is not None
    assert (outcome.kind, outcome.reason, outcome.detail) == (
        OutcomeKind.REFUSED,
        Reason.BUSY,
        status,
    )


def test_unknown_engine_is_not_filtered():
    """R7: no engine list; AWS gives the real answer."""
    assert (
        plan(instance(engine="db2-se"), Action.STOP, manual=True, confirmed=False)
        is None
    )


def test_excluded_instance_needs_confirmation_by_hand_and_is_skipped_in_bulk():
    excluded = instance(tags={"snoozedb:exclude": "true"})

    by_hand = plan(excluded, Action.STOP, manual=True, confirmed=False)
    in_bulk = plan(excluded, Action.STOP, manual=False, confirmed=False)
    confirmed = plan(excluded, Action.STOP, manual=True, confirmed=True)

    assert by_hand is not None and by_hand.kind is OutcomeKind.NEEDS_CONFIRMATION
    assert in_bulk is not None and in_bulk.kind is OutcomeKind.SKIPPED
    assert confirmed is None


def test_stoppable_instance_has_no_refusal():
    assert why_not_stoppable(instance()) is None


def test_name_in_two_regions_lists_qualified_choices():
    known = [instance(region="eu-west-1"), instance(region="us-east-1")]

    with pytest.raises(InstanceAmbiguous) as raised:
        resolve("staging-db", known)

    assert "111122223333/eu-west-1/staging-db" in str(raised.value)
    assert "111122223333/us-east-1/staging-db" in str(raised.value)


def test_qualified_name_picks_one_region():
    known = [instance(region="eu-west-1"), instance(region="us-east-1")]

    found = resolve("111122223333/us-east-1/staging-db", known)

    assert [i.ref.region for i in found] == ["us-east-1"]


def test_tag_selector_matches_every_tagged_instance():
    known = [
        instance("a", tags={"env": "qa"}),
        instance("b", tags={"env": "prod"}),
        instance("c", tags={"env": "qa"}),
    ]

    found = resolve("tag:env=qa", known)

    assert [i.identifier for i in found] == ["a", "c"]


def test_names_are_matched_without_regard_to_case():
    """RDS identifiers are lower case; `QA-DB` is what a user types in a hurry."""
    known = [instance("qa-db"), instance("staging-db")]

    found = resolve("QA-DB", known)
    qualified = resolve("111122223333/EU-WEST-1/Staging-DB", known)

    assert [i.identifier for i in found] == ["qa-db"]
    assert [i.identifier for i in qualified] == ["staging-db"]


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("stagin-db", "staging-db"), ("STAGIN-DB", "staging-db"), ("qa", "qa-db")],
)
def test_a_misspelt_or_shortened_name_gets_a_suggestion(typed: str, meant: str):
    known = [instance("staging-db"), instance("qa-db"), instance("billing-db")]

    with pytest.raises(InstanceNotFound) as raised:
        resolve(typed, known)

    assert f"Did you mean `{meant}`?" in str(raised.value)


@pytest.mark.parametrize(
    "text",
    [
        "arn:aws:iam::١١١١٢٢٢٢٣٣٣٣:role/SnoozeDBAccess",
        "arn:aws:iam::111122223333:role/Snøøze",
    ],
)
def test_role_arn_with_non_ascii_characters_is_malformed(text: str):
    assert RoleArn.parse(text) is None


@pytest.mark.parametrize(
    "text", ["qa-db", "QA-DB", "111122223333/eu-west-1/qa-db", "tag:a=b"]
)
def test_names_and_selectors_have_the_shape_of_targets(text: str):
    assert could_name_instances(text)


@pytest.mark.parametrize("text", ["9db", "x" * 64, "qa_db", "'; drop", "é-db", ""])
def test_words_that_cannot_be_rds_names_are_caught_before_any_aws_call(text: str):
    assert not could_name_instances(text)

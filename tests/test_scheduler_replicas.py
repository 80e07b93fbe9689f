"""Three scheduler replicas on one PostgreSQL database act once per transition."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.aws_bridge import AwsBridge
from bot.demo import BOT_TOKEN, CUSTOMER_ACCOUNT, OfflineWorld
from bot.operations import Operations
from bot.scheduler import Poster, RunReport, run_due
from bot.slack_app import web_client
from bot.storage import Storage
from tests.databases import postgres_url  # noqa: F401
from tests.test_scheduler import connect

NOW = datetime(2026, 3, 30, 20, 0, 3, tzinfo=UTC)


@pytest.fixture
def world(
    postgres_url: str,  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[OfflineWorld]:
    monkeypatch.delenv("MOTO_ACCOUNT_ID", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv(
        "AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials")
    )
    with OfflineWorld(postgres_url) as offline:
        offline.seed_sample_account()
        connect(offline)
        yield offline


@pytest.mark.postgres
def test_three_replicas_stop_each_instance_once_and_post_once(
    world: OfflineWorld,
    postgres_url: str,  # noqa: F811
):
    """Each replica has its own Storage and Operations; only the claim table is shared."""
    assert world.runtime is not None
    world.runtime.storage.assign_schedule(
        "T1", "C1", "tag:env=dev", "mon-fri 08:00-20:00 tz UTC", "U1"
    )
    rds = world.aws.customer_session(CUSTOMER_ACCOUNT, "us-east-1").client("rds")
    for name in ("qa-db", "analytics-db"):
        arn = rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0][
            "DBInstanceArn"
        ]
        rds.add_tags_to_resource(
            ResourceName=arn, Tags=[{"Key": "env", "Value": "dev"}]
        )
    west = world.aws.customer_session(CUSTOMER_ACCOUNT, "eu-west-1").client("rds")
    arn = west.describe_db_instances(DBInstanceIdentifier="reports-db")["DBInstances"][
        0
    ]["DBInstanceArn"]
    west.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": "env", "Value": "dev"}])
    world.aws.reset_counts()
    replicas = []
    for n in range(3):
        storage = Storage(postgres_url)
        bridge = AwsBridge(regions=world.regions, own_account_id=world.own_account_id)
        poster = Poster(
            storage, web_client(BOT_TOKEN, world.slack.base_url), pause=lambda _s: None
        )
        replicas.append((storage, Operations(storage, bridge), poster, f"replica-{n}"))
    start = threading.Barrier(3)
    reports: list[RunReport] = []

    def replica(
        storage: Storage, operations: Operations, poster: Poster, owner: str
    ) -> None:
        start.wait()
        reports.append(
            run_due(
                storage,
                operations,
                poster,
                NOW,
                since=NOW - timedelta(minutes=1),
                owner=owner,
            )
        )

    threads = [threading.Thread(target=replica, args=r) for r in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for storage, *_ in replicas:
        storage.close()

    assert (
        world.aws.calls[(CUSTOMER_ACCOUNT, "StopDBInstance")] == 2
    )  # analytics-db excluded
    assert sum(len(r.outcomes) for r in reports) == 3
    posted = world.slack.messages("C1")
    assert len(posted) == 1
    assert "`qa-db` (us-east-1): stopping now." in posted[0]["text"]
    assert "`reports-db` (eu-west-1): stopping now." in posted[0]["text"]
    assert "`analytics-db` (us-east-1): skipped" in posted[0]["text"]

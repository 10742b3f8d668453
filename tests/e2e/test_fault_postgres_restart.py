"""PostgreSQL crashes and comes back while an integrator sends 100 messages through the API
and contacts write 100 messages in (issue 16). The test starts a throwaway cluster with
Debian's initdb/pg_ctl, migrates it, and runs the whole deployment on it (daphne, a session
worker with real Chromium on the simulator, a general worker and a real `celery beat` running
the send sweep every 2 s, all on a redis-server of the test's own). Halfway through it stops
the cluster with `pg_ctl stop -m immediate` (a crash: no checkpoint, recovery on restart),
keeps the traffic flowing for several seconds, and starts it again. Nobody restarts anything
else. Every inbound message is stored exactly once (the page keeps events until their
commit), every accepted send reaches WhatsApp exactly once or fails visibly, the API answers
5xx only for requests made while the database was down, and every process recovers by
itself."""

import json
import os
import time
import urllib.request

import psycopg
import pytest

from tests.e2e.faults import (
    ApiClient,
    Deployment,
    RestartableRedis,
    ThrowawayPostgres,
    Traffic,
    connect_number,
    counts,
    deployment_env,
    migrate,
    provision,
    wait_for_quiet,
)
from tests.e2e.workers import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
NUMBER = "+5511987650112"
CRASH_AT, START_AT = 50, 65
DOWN_FOR_AT_LEAST_S = 6.0


@pytest.fixture
def own_postgres():
    cluster = ThrowawayPostgres()
    try:
        yield cluster.init()
    finally:
        cluster.destroy()


@pytest.fixture
def deployment(own_postgres, tmp_path):
    redis_server = RestartableRedis(tmp_path)
    redis_server.start()
    # Persistent connections, as a production deployment keeps them: each process holds
    # connections the crash breaks, which must not turn into errors once it is back.
    env = deployment_env(database_url=own_postgres.url(), redis=redis_server, DB_CONN_MAX_AGE="600")
    migrate({**os.environ, **env})
    deployed = Deployment(env=env, tmp_path=tmp_path)
    yield deployed
    deployed.stop()
    redis_server.stop()


def sweeps_run(deployment) -> int:
    """How many send sweeps the general worker finished (Beat sent them)."""
    log = (deployment.tmp_path / "general.log").read_text(errors="replace")
    return sum("chats_sweep_pending" in line and "succeeded" in line for line in log.splitlines())


def healthz(url: str) -> int:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=10) as response:  # nosec B310 (loopback)
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


# The database and Redis are set up before the worker and torn down after it: a worker must
# not be asked to shut down warmly into a database that is gone.
def test_no_message_is_lost_or_doubled_when_postgres_crashes_and_comes_back(
    own_postgres, deployment, sim, start_worker
):
    database_url = own_postgres.url()
    key = provision({**os.environ, **deployment.env})["api_key"]
    web = deployment.start_web()
    worker = start_worker("wa_fault_pg", env=deployment.env)
    deployment.start_beat_and_general_worker()
    api = ApiClient(web.url, key)
    connect_number(api, sim, NUMBER, log=worker.log)

    traffic = Traffic(api, sim, NUMBER)
    down_at = up_at = 0.0
    health_while_down = None
    for i in range(traffic.count):
        if i == CRASH_AT:
            down_at = time.monotonic()
            own_postgres.crash()
        elif i == START_AT:
            health_while_down = healthz(web.url)
            time.sleep(max(0.0, down_at + DOWN_FOR_AT_LEAST_S - time.monotonic()))
            own_postgres.start()
            up_at = time.monotonic()
        traffic.step(i)
    traffic.retry_until_accepted()
    wait_for_quiet(traffic, database_url, timeout=150, log=worker.log)

    result = counts(traffic, database_url)
    print("\npostgres crash + restart: " + json.dumps(result))
    assert result["lost"] == 0 and result["duplicated"] == 0, (result, worker.log())
    assert result["sends_accepted"] == traffic.count and result["pending"] == 0
    # 5xx only while the database was down: no request made after it came back failed.
    failed_after = [(what, a.status) for what, a in api.answers if a.status >= 500 and a.started > up_at]
    assert not failed_after, failed_after
    assert health_while_down == 503
    assert healthz(web.url) == 200
    # The worker and Beat came back by themselves: a message written in now is stored, a send goes.
    sim.ok("POST", "/messages", {"from": traffic.customer(0), "to": NUMBER, "body": "depois"})
    answer = api.call("POST", "/api/v1/messages", {"to": traffic.customer(1), "body": "depois"})
    assert answer.status == 201, answer
    wait_until(
        lambda: {m["body"] for m in sim.ok("GET", f"/phones/{NUMBER}/outbox")} >= {"depois"},
        timeout=60,
        what="a send after recovery",
        log=worker.log,
    )

    def stored_inbound_after_recovery() -> bool:
        with psycopg.connect(database_url) as conn:
            return (
                conn.execute(
                    "SELECT count(*) FROM messaging_chat WHERE direction = 'inbound' AND body = 'depois'"
                ).fetchone()[0]
                == 1
            )

    wait_until(
        stored_inbound_after_recovery, timeout=60, what="an inbound message after recovery", log=worker.log
    )
    sweeps_so_far = sweeps_run(deployment)
    wait_until(
        lambda: sweeps_run(deployment) >= sweeps_so_far + 2,
        timeout=60,
        what="Beat's sweep to run again",
        log=deployment.celery[-1].log,
    )
    # A warm shutdown after the outage still releases the worker's numbers and marks it stopped.
    worker.stop()
    with psycopg.connect(database_url) as conn:
        worker_status = conn.execute(
            "SELECT status FROM sessions_app_workerinstance WHERE name = 'wa_fault_pg'"
        ).fetchone()[0]
        still_assigned = conn.execute(
            "SELECT count(*) FROM sessions_app_whatsappsession WHERE assigned_worker_id IS NOT NULL"
        ).fetchone()[0]
    assert (worker_status, still_assigned) == ("dead", 0), worker.log()


def test_a_worker_stopped_while_postgres_is_down_still_closes_its_browsers(
    own_postgres, deployment, sim, start_worker
):
    """A warm shutdown (a deploy, a reboot) during the outage: the snapshot cannot be stored,
    but every browser is closed by the worker itself; the start_worker fixture fails the test
    if any Chromium or chromedriver process of it survives."""
    key = provision({**os.environ, **deployment.env})["api_key"]
    web = deployment.start_web()
    worker = start_worker("wa_fault_pg_stop", env=deployment.env)
    connect_number(ApiClient(web.url, key), sim, "+5511987650113", log=worker.log)

    own_postgres.crash()
    worker.stop()
    own_postgres.start()

    log = worker.log_path.read_text(errors="replace")
    assert "closed browser of" in log and "Signal handler" not in log, worker.log()

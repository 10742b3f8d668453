"""Redis loses its data twice while an integrator sends 100 messages through the API and
contacts write 100 messages in (issue 16): a FLUSHALL a third of the way in, then a restart
(the deployment's Redis keeps nothing on disk) two thirds in, with traffic flowing while it
is down. The deployment is real processes on a redis-server this test owns: daphne, a
session worker (real Chromium on the simulator), a general worker and a real `celery beat`
running the send sweep every 2 s. Every accepted send reaches WhatsApp exactly once (or fails
visibly), none stays pending; every inbound message is stored exactly once."""

import json
import os
import time

import psycopg
import pytest

from tests.e2e import workers
from tests.e2e.faults import (
    ApiClient,
    Deployment,
    RestartableRedis,
    Traffic,
    connect_number,
    counts,
    deployment_env,
    provision,
    wait_for_quiet,
)

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
NUMBER = "+5511987650111"
FLUSH_AT, STOP_AT, START_AT = 33, 60, 76


@pytest.fixture
def own_redis(tmp_path):
    server = RestartableRedis(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def deployment(own_redis, tmp_path, transactional_db):
    env = deployment_env(database_url=workers.test_database_url(), redis=own_redis)
    deployed = Deployment(env=env, tmp_path=tmp_path)
    yield deployed
    deployed.stop()


def test_no_message_is_lost_or_doubled_when_redis_is_flushed_and_restarted(
    own_redis, deployment, sim, start_worker
):
    database_url = deployment.env["DATABASE_URL"]
    key = provision({**os.environ, **deployment.env})["api_key"]
    web = deployment.start_web()
    worker = start_worker("wa_fault_redis", env=deployment.env)
    deployment.start_beat_and_general_worker()
    api = ApiClient(web.url, key)
    connect_number(api, sim, NUMBER, log=worker.log)

    traffic = Traffic(api, sim, NUMBER)
    i = 0
    while i < traffic.count:
        if i == FLUSH_AT:
            own_redis.flushall()  # every queued wake-up, the routing cache, the channel layer: gone
        elif i == START_AT:
            own_redis.start()  # empty
        if i == STOP_AT:
            i = stop_redis_with_a_send_in_flight(own_redis, traffic, i, database_url)
        else:
            traffic.step(i)
        i += 1
    traffic.retry_until_accepted()
    wait_for_quiet(traffic, database_url, timeout=150, log=worker.log)

    result = counts(traffic, database_url)
    print("\nredis flush + restart: " + json.dumps(result))
    assert result["lost"] == 0 and result["duplicated"] == 0, (result, worker.log())
    assert result["sends_accepted"] == traffic.count and result["pending"] == 0
    # A 5xx means "not accepted": no retry with the same key found a message already made
    # (200 is the API's answer to a replayed key; 201 a new message).
    assert 200 not in result["send_api_answers"], result


def stop_redis_with_a_send_in_flight(own_redis, traffic, first: int, database_url) -> int:
    """Redis goes away while the session worker runs a send task it has not acked yet
    (task_acks_late): right after the worker claimed a send and before it marked it sent.
    The window is short; the next sends are tried until one is caught in it. Returns the
    index of the last step taken."""
    for i in range(first, min(first + 10, traffic.count)):
        traffic.step(i)
        message = traffic.accepted.get(traffic.out_bodies[i])
        deadline = time.monotonic() + 10
        while message and time.monotonic() < deadline:
            with psycopg.connect(database_url) as conn:
                claimed, status = conn.execute(
                    "SELECT send_claimed_at IS NOT NULL, status FROM messaging_chat WHERE uuid = %s",
                    [message],
                ).fetchone()
            if status != "pending":
                break  # too late: already sent; try the next one
            if claimed:
                own_redis.stop()
                return i
            time.sleep(0.005)
    own_redis.stop()
    return i

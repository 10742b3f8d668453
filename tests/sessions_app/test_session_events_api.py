"""`GET /api/v1/sessions/{uuid}/events`: the timeline the number's page shows, for
integrators, newest first, cursor-paginated, filterable by kind, one number's only."""

import pytest

from sessions_app.models import SessionEvent
from tests.factories import SessionEventFactory, WhatsAppSessionFactory

pytestmark = pytest.mark.django_db


def test_it_pages_through_the_whole_timeline_newest_first(alice_api, workspace_a):
    session = WhatsAppSessionFactory(workspace=workspace_a)
    for step in range(7):
        SessionEventFactory(session=session, detail={"step": step})
    SessionEventFactory(session=WhatsAppSessionFactory(workspace=workspace_a), detail={"step": "other"})

    seen, url = [], f"/api/v1/sessions/{session.uuid}/events?page_size=3"
    while url:
        page = alice_api.get(url)
        assert page.status_code == 200, page.content
        seen += [event["detail"]["step"] for event in page.json()["results"]]
        url = page.json()["next"]

    assert seen == [6, 5, 4, 3, 2, 1, 0]


def test_it_filters_by_kind(alice_api, workspace_a):
    session = WhatsAppSessionFactory(workspace=workspace_a)
    SessionEventFactory(session=session, kind=SessionEvent.Kind.STATUS_CHANGE)
    SessionEventFactory(session=session, kind=SessionEvent.Kind.FAILOVER, detail={"from": "wa1", "to": "wa2"})

    response = alice_api.get(f"/api/v1/sessions/{session.uuid}/events", {"kind": "failover"})

    assert response.status_code == 200
    assert [(e["kind"], e["detail"]) for e in response.json()["results"]] == [
        ("failover", {"from": "wa1", "to": "wa2"})
    ]


def test_an_unknown_kind_is_a_400_naming_it(alice_api, workspace_a):
    session = WhatsAppSessionFactory(workspace=workspace_a)

    response = alice_api.get(f"/api/v1/sessions/{session.uuid}/events", {"kind": "gossip"})

    assert response.status_code == 400
    assert response.json()["error"]["field"] == "kind"


def test_another_workspaces_timeline_is_a_404(alice_api, workspace_b):
    foreign = WhatsAppSessionFactory(workspace=workspace_b)
    SessionEventFactory(session=foreign)

    assert alice_api.get(f"/api/v1/sessions/{foreign.uuid}/events").status_code == 404

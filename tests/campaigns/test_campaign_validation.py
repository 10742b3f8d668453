"""A campaign's message and audience are checked before it starts: a variable some recipient
has no value for is a clear error naming it, never a broken message later."""

import pytest
from django.utils import timezone

from blazz.templating import TemplateError, render, variables_in
from campaigns import services
from campaigns.models import CampaignLog
from tests.campaigns.conftest import connected_number, make_contacts
from tests.factories import CampaignFactory, ContactFactory, WorkspaceFactory


def test_it_fills_in_name_phone_metadata_and_fallbacks():
    text = render(
        "Olá {{name}} ({{ phone }}), {{city}} {{ plan | basic }} {{nick|amigo}} 🎉",
        name="Ana",
        phone="+5511987650001",
        metadata={"city": "Recife", "plan": ""},
    )
    assert text == "Olá Ana (+5511987650001), Recife basic amigo 🎉"


def test_it_refuses_malformed_variables_and_names_missing_ones():
    with pytest.raises(TemplateError, match="malformed"):
        variables_in("Hi {{name}")
    with pytest.raises(TemplateError, match="malformed"):
        variables_in("Hi {{ }}")
    assert [v.key for v in variables_in("{{a}} {{b|x}} {{a}}")] == ["a", "b"]
    with pytest.raises(TemplateError, match="city"):
        render("in {{city}}", name="", phone="+1", metadata={})


@pytest.mark.django_db
def test_it_refuses_to_start_when_a_recipient_lacks_a_variable():
    workspace = WorkspaceFactory()
    connected_number(workspace)
    ContactFactory(workspace=workspace, name="Ana", metadata={"city": "Recife"})
    ContactFactory(workspace=workspace, name="", phone="+14155550111", metadata={})
    campaign = CampaignFactory(workspace=workspace, body="Hi {{name}} from {{city}}")

    with pytest.raises(services.CampaignInvalid) as refused:
        services.campaign_start(campaign=campaign)

    message = str(refused.value)
    assert "{{name}} has no value for 1 of 2 recipients (e.g. +14155550111)" in message
    assert "{{city}} has no value for 1 of 2" in message
    campaign.refresh_from_db()
    assert campaign.status == "draft" and not CampaignLog.objects.exists()

    services.campaign_update(campaign=campaign, body="Hi {{name|there}} from {{city|your town}}")
    assert services.campaign_start(campaign=campaign).status == "running"


@pytest.mark.django_db
def test_it_refuses_bad_drafts_with_a_clear_message():
    workspace = WorkspaceFactory()
    other = WorkspaceFactory()

    def create(**kwargs):
        return services.campaign_create(workspace=workspace, **{"name": "x", "body": "Hi", **kwargs})

    with pytest.raises(services.CampaignInvalid, match="empty"):
        create(body="  ")
    with pytest.raises(services.CampaignInvalid, match="malformed"):
        create(body="Hi {{name")
    with pytest.raises(services.CampaignInvalid, match="window"):
        create(window_start_hour=22, window_end_hour=6)
    with pytest.raises(services.CampaignInvalid, match="audience kind"):
        create(audience={"kind": "everyone"})
    with pytest.raises(services.CampaignInvalid, match="not in this workspace"):
        create(audience={"kind": "list", "contacts": [str(ContactFactory(workspace=other).uuid)]})
    with pytest.raises(services.CampaignInvalid, match="No number"):
        create(sessions=[connected_number(other).uuid])


@pytest.mark.django_db
def test_it_picks_the_audience_all_a_list_or_a_tag():
    workspace = WorkspaceFactory()
    connected_number(workspace)
    vip = ContactFactory(workspace=workspace, tags=["vip", "br"], metadata={"city": "Recife"})
    ContactFactory(workspace=workspace, tags=["br"])
    plain = ContactFactory(workspace=workspace)
    ContactFactory(workspace=WorkspaceFactory())  # another workspace's: never a recipient

    def recipients(audience):
        campaign, _ = services.campaign_create(workspace=workspace, name="x", body="Hi", audience=audience)
        services.campaign_start(campaign=campaign)
        return set(CampaignLog.objects.filter(campaign=campaign).values_list("contact_id", flat=True))

    assert len(recipients({"kind": "all"})) == 3
    assert recipients({"kind": "filter", "metadata": {"tags": ["vip"]}}) == {vip.pk}
    assert recipients({"kind": "filter", "metadata": {"city": "Recife"}}) == {vip.pk}
    listed = recipients({"kind": "list", "contacts": [str(plain.uuid)], "phones": ["+55 11 98765-0999"]})
    assert plain.pk in listed and len(listed) == 2  # the new phone became a contact


@pytest.mark.django_db
def test_it_refuses_to_start_without_a_connected_number_or_recipients():
    workspace = WorkspaceFactory()
    make_contacts(workspace, 2)
    campaign = CampaignFactory(workspace=workspace)
    with pytest.raises(services.NoSendingNumber, match="No number"):
        services.campaign_start(campaign=campaign)

    empty = CampaignFactory(workspace=WorkspaceFactory())
    connected_number(empty.workspace)
    with pytest.raises(services.CampaignInvalid, match="no contacts"):
        services.campaign_start(campaign=empty)


@pytest.mark.django_db
def test_only_drafts_are_edited_and_verbs_follow_the_status():
    workspace = WorkspaceFactory()
    connected_number(workspace)
    make_contacts(workspace, 2)
    campaign = CampaignFactory(workspace=workspace)
    with pytest.raises(services.CampaignStateError):
        services.campaign_pause(campaign=campaign)
    services.campaign_start(campaign=campaign, now=timezone.now())
    assert services.campaign_start(campaign=campaign).status == "running"  # idempotent
    with pytest.raises(services.CampaignStateError, match="draft"):
        services.campaign_update(campaign=campaign, name="new")
    with pytest.raises(services.CampaignStateError, match="Cancel"):
        services.campaign_delete(campaign=campaign)
    services.campaign_cancel(campaign=campaign)
    assert services.campaign_cancel(campaign=campaign).status == "cancelled"
    with pytest.raises(services.CampaignStateError):
        services.campaign_resume(campaign=campaign)
    services.campaign_delete(campaign=campaign)
    assert not CampaignLog.objects.exists()

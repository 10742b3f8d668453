import pytest
from django.db import IntegrityError, transaction

from tests.factories import CampaignFactory, CampaignLogFactory

pytestmark = pytest.mark.django_db


def test_it_creates_one_log_per_recipient():
    log = CampaignLogFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        CampaignLogFactory(campaign=log.campaign, contact=log.contact)


def test_it_refuses_a_send_window_outside_the_day():
    with pytest.raises(IntegrityError), transaction.atomic():
        CampaignFactory(window_start_hour=25)

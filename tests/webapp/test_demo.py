"""Demo activity: the demo members' webapp pages have data, and seeding twice adds nothing."""

import pytest

from accounts.models import User
from billing.models import UsageKind, UsageRecord
from tests.factories import UserFactory
from tests.webapp.conftest import give_number
from webapp.demo import demo_activity_seed
from webapp.models import Message, Voicemail

pytestmark = pytest.mark.django_db


def test_demo_activity_fills_a_demo_members_pages_once(
    client, organisation, owner, inventory, django_capture_on_commit_callbacks
):
    demo_user = UserFactory(organisation=organisation, email="user@acme.example")
    give_number(demo_user, "mobile", actor=owner)
    give_number(demo_user, "landline", actor=owner)

    with django_capture_on_commit_callbacks(execute=True):
        assert demo_activity_seed() == 1
        assert demo_activity_seed() == 0

    counts = (
        Message.objects.filter(member=demo_user).count(),
        UsageRecord.objects.filter(member=demo_user, kind=UsageKind.CALL).count(),
        Voicemail.objects.filter(member=demo_user).count(),
    )
    assert counts == (6, 6, 2)
    assert set(Message.objects.values_list("status", flat=True)) == {"sent", "received"}
    client.force_login(User.objects.get(pk=demo_user.pk))
    for path in ("/", "/messages/", "/calls/", "/voicemail/"):
        assert client.get(path).status_code == 200
    assert len(client.get("/messages/").context["conversations"]) == 3
    assert client.get("/").context["summary"]["voicemails"] == 2

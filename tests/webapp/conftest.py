"""Fixtures for the webapp: a member holding a French mobile and a landline, a colleague in the
same organisation, an outsider in another, and a service token for the telephony platform."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.service_tokens import service_token_create
from billing.models import UsageDirection, UsageKind
from billing.usage import usage_record
from numbering.services import number_assign
from tests.factories import UserFactory, stock
from webapp import services
from webapp.audio import wav_tone


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def inventory(db):
    return {"mobile": stock("FR", "mobile", 10), "landline": stock("FR", "landline", 5)}


def give_number(member, number_type="mobile", *, actor=None):
    return number_assign(
        organisation=member.organisation,
        actor=actor or member,
        country=member.organisation.country,
        number_type=number_type,
        member=member,
    ).number


@pytest.fixture
def member(organisation, owner, inventory):
    return UserFactory(
        organisation=organisation, role="user", email="me@org-a.example", name="Mia Member"
    )


@pytest.fixture
def mobile(member, owner):
    return give_number(member, "mobile", actor=owner)


@pytest.fixture
def landline(member, owner, mobile):
    return give_number(member, "landline", actor=owner)


@pytest.fixture
def colleague(organisation, owner, inventory):
    return UserFactory(
        organisation=organisation, role="user", email="colleague@org-a.example", name="Colin"
    )


@pytest.fixture
def colleague_mobile(colleague, owner):
    return give_number(colleague, "mobile", actor=owner)


@pytest.fixture
def outsider(other_organisation, other_owner, inventory):
    return UserFactory(
        organisation=other_organisation, role="user", email="out@org-b.example", name="Otto"
    )


@pytest.fixture
def outsider_mobile(outsider, other_owner):
    return give_number(outsider, "mobile", actor=other_owner)


@pytest.fixture
def signed_in(client: Client, member, mobile, landline) -> Client:
    client.force_login(member)
    return client


@pytest.fixture
def service_key(db) -> str:
    return service_token_create(name="telephony")[1]


@pytest.fixture
def service_client(service_key) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {service_key}")
    return client


def received(number, *, peer="+33698765432", body="Hello", minutes_ago=10):
    return services.message_receive(
        to_number=number.e164,
        sender=peer,
        body=body,
        received_at=timezone.now() - dt.timedelta(minutes=minutes_ago),
    )


def call(number, *, direction="outbound", peer="+33145678901", seconds=60, when=None, cost="0.10"):
    return usage_record(
        number=number,
        kind=UsageKind.CALL,
        direction=UsageDirection(direction),
        started_at=when or timezone.now() - dt.timedelta(hours=1),
        cost=Decimal(cost),
        duration_seconds=seconds,
        destination=peer,
    )


def wav_upload(seconds: float = 1.0, name: str = "vm.wav") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, wav_tone(seconds=seconds), content_type="audio/wav")


def voicemail(number, *, caller="+33698765432", seconds=2.0, minutes_ago=5):
    return services.voicemail_store(
        number=number.e164,
        caller=caller,
        received_at=timezone.now() - dt.timedelta(minutes=minutes_ago),
        audio=wav_upload(seconds),
    )

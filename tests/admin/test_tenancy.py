"""Tenancy attacks on the console: a member of organisation B using organisation A's ids.

Every registered admin is walked, so a new model registered without the tenancy base fails here.
"""

from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.admin.views.main import SEARCH_VAR
from django.urls import reverse

from accounts.models import Organisation, User
from billing.credit_notes import credit_note_issue
from billing.models import (
    Charge,
    Commitment,
    CreditNote,
    DocumentSend,
    Invoice,
    PaymentMethod,
    UsageRecord,
)
from billing.payments.methods import payment_method_add_card
from licensing.models import Licence, LicenceStatus, Line
from numbering.models import PhoneNumber, PortingRequest
from telecom.admin import CatalogueAdmin, StaffOnlyAdmin, TenantAdmin, tenant_path
from tests.admin.conftest import SHARE_WORLDS, assert_none_of, db_state, messages_of, page_text

pytestmark = [pytest.mark.django_db, SHARE_WORLDS]


def a_object_of(model, world):
    """One of organisation A's rows for each domain model the console registers."""
    from accounts.models import AuditEvent
    from billing.models import BillingDetails
    from billing.profile import billing_details_update

    if model is PaymentMethod:
        return payment_method_add_card(
            organisation=world.organisation,
            actor=world.owner,
            number="4242424242424242",
            exp_month=12,
            exp_year=2099,
        )
    if model is BillingDetails:
        return billing_details_update(
            organisation=world.organisation,
            actor=world.owner,
            legal_name=f"{world.organisation.name} SAS",
            street="1 rue de la Paix",
            postcode="75002",
            city="Paris",
            country="FR",
        )
    if model is DocumentSend:
        return DocumentSend.objects.create(
            organisation=world.organisation, invoice=world.invoice, contact="a-secret@example.com"
        )
    if model is CreditNote:
        return credit_note_issue(invoice=world.invoice, actor=None, reason="x", amount=Decimal("1"))
    return {
        Organisation: world.organisation,
        User: world.owner,
        Licence: world.assigned,
        Line: world.line,
        Invoice: world.invoice,
        AuditEvent: AuditEvent.objects.filter(organisation=world.organisation).first(),
        Commitment: world.commitment,
        Charge: world.device_order,
        UsageRecord: world.usage,
        PhoneNumber: world.usage.number,
        PortingRequest: world.porting,
    }[model]


def without_echo(secrets, params):
    """The page repeats the query itself (search box); that is the attacker's own text."""
    echoed = " ".join(str(v) for v in params.values()).lower()
    return [s for s in secrets if s.lower() not in echoed]


def tenant_models():
    return [m for m, ma in admin.site._registry.items() if isinstance(ma, TenantAdmin)]


def url_of(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


# --- the registry walk --------------------------------------------------------------------------


def test_every_registered_admin_is_tenant_scoped_or_declared_shared():
    unscoped = [
        f"{model._meta.label}: {type(model_admin).__name__}"
        for model, model_admin in admin.site._registry.items()
        if not isinstance(model_admin, TenantAdmin | CatalogueAdmin | StaffOnlyAdmin)
    ]
    assert not unscoped, f"admins without the tenancy base: {unscoped}"


def test_shared_and_staff_only_admins_hold_no_organisation_rows():
    for model, model_admin in admin.site._registry.items():
        if isinstance(model_admin, CatalogueAdmin | StaffOnlyAdmin):
            # Shared or platform data: it has no organisation to be scoped by.
            assert tenant_path(model) is not None
            field_names = {f.name for f in model._meta.get_fields()}
            assert "organisation" not in field_names, model


def test_no_list_filter_lists_every_row_of_a_related_table(rf, world_b):
    request = rf.get("/")
    request.user = world_b.owner
    for model, model_admin in admin.site._registry.items():
        if not isinstance(model_admin, TenantAdmin):
            continue
        for entry in model_admin.get_list_filter(request):
            name = entry[0] if isinstance(entry, tuple) else entry
            assert name != "organisation", f"{model}: organisation filter shown to a member"
            if isinstance(entry, str):
                assert not model_admin._is_relation(entry), f"{model}.{entry} lists all rows"


@pytest.mark.parametrize("model", tenant_models(), ids=lambda m: m._meta.label)
def test_changelist_of_b_shows_none_of_a_rows(client, world_a, world_b, model):
    client.force_login(world_b.owner)
    response = client.get(url_of(model, "changelist"))
    assert response.status_code == 200
    assert_none_of(world_a.secrets(), page_text(response))
    # B's own rows are there: the page is not merely empty.
    assert "quimby" in page_text(response).lower()


@pytest.mark.parametrize("model", tenant_models(), ids=lambda m: m._meta.label)
def test_changelist_search_and_filters_of_b_never_reach_a(client, world_a, world_b, model):
    client.force_login(world_b.owner)
    for params in (
        {SEARCH_VAR: "zorblax"},
        {SEARCH_VAR: str(world_a.assigned.pk)},
        {SEARCH_VAR: str(world_a.assigned.pk)[:8]},
        {"_facets": "1"},
    ):
        response = client.get(url_of(model, "changelist"), params)
        assert response.status_code == 200, params
        assert_none_of(without_echo(world_a.secrets(), params), page_text(response))


@pytest.mark.parametrize("model", tenant_models(), ids=lambda m: m._meta.label)
@pytest.mark.parametrize("view", ["change", "delete", "history"])
def test_a_object_pages_do_not_exist_for_b(client, world_a, world_b, model, view):
    client.force_login(world_b.owner)
    obj = a_object_of(model, world_a)
    before = db_state()

    get = client.get(url_of(model, view, obj.pk))
    post = client.post(url_of(model, view, obj.pk), {"post": "yes", "name": "hijacked"})

    for response in (get, post):
        assert response.status_code == 302
        assert response.url == reverse("admin:index")
        assert any("doesn’t exist" in m for m in messages_of(response))
    followed = client.get(get.url)
    # The message repeats the id that was asked for, and nothing else of A's.
    assert_none_of(without_echo(world_a.secrets(), {"pk": obj.pk}), page_text(followed))
    assert db_state() == before


@pytest.mark.parametrize("model", tenant_models(), ids=lambda m: m._meta.label)
def test_a_missing_object_and_a_foreign_object_answer_the_same(client, world_a, world_b, model):
    client.force_login(world_b.owner)
    foreign = client.get(url_of(model, "change", a_object_of(model, world_a).pk))
    pk_field = model._meta.pk
    missing_pk = (
        "00000000-0000-0000-0000-000000000000"
        if pk_field.get_internal_type() == ("UUIDField")
        else "999999999"
    )
    missing = client.get(url_of(model, "change", missing_pk))
    assert foreign.status_code == missing.status_code == 302
    assert foreign.url == missing.url


def _foreign_key_sources():
    """(source model, field name, target model) for every FK of a registered model whose target
    is a scoped model with search fields: the autocomplete endpoints a member could call."""
    sources = []
    for model in admin.site._registry:
        for f in model._meta.get_fields():
            if not (f.many_to_one or f.many_to_many) or not f.concrete:
                continue
            target_admin = admin.site._registry.get(f.related_model)
            if isinstance(target_admin, TenantAdmin) and target_admin.search_fields:
                sources.append((model, f.name, f.related_model))
    return sources


@pytest.mark.parametrize(
    "source,field_name,target",
    _foreign_key_sources(),
    ids=lambda v: v if isinstance(v, str) else getattr(getattr(v, "_meta", None), "label", v),
)
def test_autocomplete_of_b_returns_none_of_a_rows(
    client, world_a, world_b, source, field_name, target
):
    client.force_login(world_b.owner)
    for term in ("", "zorblax", str(world_a.assigned.pk)[:8], "owner@"):
        response = client.get(
            reverse("admin:autocomplete"),
            {
                "app_label": source._meta.app_label,
                "model_name": source._meta.model_name,
                "field_name": field_name,
                "term": term,
            },
        )
        assert response.status_code == 200
        assert_none_of(without_echo(world_a.secrets(), {"term": term}), page_text(response))
    everything = client.get(
        reverse("admin:autocomplete"),
        {
            "app_label": source._meta.app_label,
            "model_name": source._meta.model_name,
            "field_name": field_name,
            "term": "",
        },
    ).json()["results"]
    scoped_ids = {
        str(pk)
        for pk in admin.site._registry[target]
        .scope(_request_of(world_b.owner), target._default_manager.all())
        .values_list("pk", flat=True)
    }
    assert {row["id"] for row in everything} <= scoped_ids


def _request_of(user):
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = user
    return request


# --- foreign-key ids and actions in POSTs ---------------------------------------------------------


def test_assigning_a_licence_to_a_member_of_a_fails_as_a_missing_id(client, world_a, world_b):
    client.force_login(world_b.owner)
    before = db_state()
    url = reverse("admin:licensing_licence_assign", args=[world_b.free.pk])
    for data in (
        {"member": world_a.user.pk},
        {"line": world_a.line.pk},
        {"member": "00000000-0000-0000-0000-000000000000"},
    ):
        response = client.post(url, {"_assign": "1", **data})
        assert response.status_code == 200
        assert "Select a valid choice" in page_text(response)
        assert_none_of(world_a.secrets(), page_text(response))
    assert db_state() == before


def test_actions_posted_with_a_ids_change_nothing(client, world_a, world_b):
    client.force_login(world_b.owner)
    before = db_state()
    for action, ids in (
        ("restore_selected", [world_a.scheduled.pk]),
        ("terminate_selected", [world_a.free.pk]),
        ("unassign_selected", [world_a.assigned.pk, world_a.phone.pk]),
        ("assign_one", [world_a.free.pk]),
    ):
        response = client.post(
            reverse("admin:licensing_licence_changelist"),
            {"action": action, "_selected_action": [str(pk) for pk in ids]},
        )
        assert response.status_code in (200, 302)
        assert_none_of(
            world_a.secrets(), page_text(client.get(reverse("admin:licensing_licence_changelist")))
        )
    assert db_state() == before


@pytest.mark.parametrize("view", ["assign", "addons", "extension", "restore", "terminate"])
def test_licence_action_pages_with_an_a_licence_do_not_exist(client, world_a, world_b, view):
    client.force_login(world_b.owner)
    before = db_state()
    target = world_a.scheduled if view == "restore" else world_a.phone
    url = reverse(f"admin:licensing_licence_{view}", args=[target.pk])
    for response in (
        client.get(url),
        client.post(url, {"extension": "999", "codes": [], "_unassign": "1"}),
    ):
        assert response.status_code == 302
        assert response.url == reverse("admin:index")
        assert any("doesn’t exist" in m for m in messages_of(response))
    assert db_state() == before


def test_terminate_by_uuid_of_an_a_licence_is_not_found(client, world_a, world_b):
    client.force_login(world_b.owner)
    before = db_state()
    response = client.post(
        reverse("admin:licensing_licence_terminate_by_uuid"), {"uuid": str(world_a.free.pk)}
    )
    assert response.status_code == 200
    assert "No licence has this UUID." in page_text(response)
    assert db_state() == before


def test_add_forms_take_the_organisation_from_the_member_not_the_post(client, world_a, world_b):
    client.force_login(world_b.owner)
    client.post(
        reverse("admin:accounts_user_add"),
        {
            "organisation": world_a.organisation.pk,
            "email": "new@quimby.example",
            "name": "New",
            "role": "user",
        },
    )
    client.post(
        reverse("admin:licensing_line_add"),
        {
            "organisation": world_a.organisation.pk,
            "kind": "fax",
            "name": "quimby-fax",
        },
    )
    assert User.objects.get(email="new@quimby.example").organisation == world_b.organisation
    assert Line.objects.get(name="quimby-fax").organisation == world_b.organisation


def test_member_change_of_b_cannot_move_a_member_to_a(client, world_a, world_b):
    client.force_login(world_b.owner)
    client.post(
        reverse("admin:accounts_user_change", args=[world_b.user.pk]),
        {
            "name": "quimby-user",
            "role": "user",
            "organisation": world_a.organisation.pk,
            "licences-TOTAL_FORMS": "0",
            "licences-INITIAL_FORMS": "0",
        },
    )
    world_b.user.refresh_from_db()
    assert world_b.user.organisation == world_b.organisation


def test_dashboard_search_and_audit_of_b_show_none_of_a(client, world_a, world_b):
    client.force_login(world_b.owner)
    pages = [
        (reverse("admin:index"), {}),
        (reverse("admin:search"), {"q": "zorblax"}),
        (reverse("admin:search"), {"q": str(world_a.free.pk)}),
        (reverse("admin:search"), {"q": str(world_a.free.pk)[:8]}),
        (reverse("admin:search"), {"q": "owner@"}),
        (reverse("admin:accounts_auditevent_changelist"), {}),
        (reverse("admin:licensing_licence_buy"), {}),
        (reverse("admin:licensing_licence_assign", args=[world_b.free.pk]), {}),
    ]
    for url, params in pages:
        response = client.get(url, params)
        assert response.status_code == 200
        assert_none_of(without_echo(world_a.secrets(), params), page_text(response))


def test_history_of_b_object_shows_only_b_events(client, world_a, world_b):
    client.force_login(world_b.owner)
    response = client.get(reverse("admin:licensing_licence_history", args=[world_b.phone.pk]))
    assert response.status_code == 200
    text = page_text(response)
    assert "licence.extension_set" in text and "licence.addons_set" in text
    assert_none_of(world_a.secrets(), text)


def test_platform_staff_see_every_organisation(client, staff, world_a, world_b):
    client.force_login(staff)
    text = page_text(client.get(reverse("admin:licensing_licence_changelist")))
    assert str(world_a.assigned.pk) in text and str(world_b.assigned.pk) in text
    response = client.get(reverse("admin:licensing_licence_change", args=[world_a.phone.pk]))
    assert response.status_code == 200
    dashboard = page_text(client.get(reverse("admin:index")))
    assert "Zorblax Ltd" in dashboard and "Quimby Ltd" in dashboard


def test_a_scheduled_licence_of_a_stays_scheduled_after_b_restore(client, world_a, world_b):
    client.force_login(world_b.owner)
    client.post(reverse("admin:licensing_licence_restore", args=[world_a.scheduled.pk]))
    world_a.scheduled.refresh_from_db()
    assert world_a.scheduled.status == LicenceStatus.REMOVAL_SCHEDULED

"""The console's changelists (search, filters) and autocomplete refuse a NUL byte with a 400
page, and other control characters never give a 500."""

import pytest
from django.contrib import admin
from django.contrib.admin.views.main import SEARCH_VAR
from django.urls import reverse

from tests.admin.conftest import SHARE_WORLDS
from tests.admin.test_tenancy import _foreign_key_sources, tenant_models, url_of

pytestmark = [pytest.mark.django_db, SHARE_WORLDS]

CONTROL = "".join(chr(c) for c in [*range(1, 32), 127])


def _filter_params(model) -> list[str]:
    """A query parameter of each list filter on a plain field of the model."""
    names = []
    for spec in admin_of(model).list_filter:
        if isinstance(spec, str):
            names.append(f"{spec}__exact")
        elif isinstance(spec, tuple) and isinstance(spec[0], str):
            names.append(f"{spec[0]}__exact")
        elif hasattr(spec, "parameter_name"):
            names.append(spec.parameter_name)
    return names


def admin_of(model):
    return admin.site._registry[model]


def assert_refused(response):
    assert response.status_code == 400
    assert response.content.startswith(b"A NUL character is not allowed here.")


@pytest.mark.parametrize("model", tenant_models(), ids=lambda m: m._meta.label)
def test_changelist_search_and_filters_refuse_nul(client, world_b, model):
    client.force_login(world_b.owner)
    changelist = url_of(model, "changelist")
    assert_refused(client.get(changelist, {SEARCH_VAR: "a\x00b"}))
    for name in _filter_params(model):
        assert_refused(client.get(changelist, {name: "\x00"}))
    for value in (CONTROL, f"a{CONTROL}b"):
        response = client.get(changelist, {SEARCH_VAR: value})
        assert response.status_code == 200
        for name in _filter_params(model):
            assert client.get(changelist, {name: value}).status_code < 500


@pytest.mark.parametrize(
    "source,field_name,target",
    _foreign_key_sources(),
    ids=lambda v: v if isinstance(v, str) else getattr(getattr(v, "_meta", None), "label", v),
)
def test_autocomplete_refuses_nul(client, world_b, source, field_name, target):
    client.force_login(world_b.owner)
    params = {
        "app_label": source._meta.app_label,
        "model_name": source._meta.model_name,
        "field_name": field_name,
    }
    assert_refused(client.get(reverse("admin:autocomplete"), {**params, "term": "1\x00"}))
    for term in (CONTROL, f"a{CONTROL}b"):
        response = client.get(reverse("admin:autocomplete"), {**params, "term": term})
        assert response.status_code == 200

import pytest
from django.core.exceptions import ValidationError

from numbering.capacity import has_changes_left, has_free_slot, receiving_counts_as_change
from numbering.inventory import NUMBER_PLANS, generate_numbers
from numbering.phone import capabilities_for, format_for_people, parse_number


@pytest.mark.parametrize(
    ("raw", "country", "number_type"),
    [
        ("+33612345678", "FR", "mobile"),
        ("+33123456789", "FR", "landline"),
        ("+447400123456", "GB", "mobile"),
        ("+34612345678", "ES", "mobile"),
        ("+32470123456", "BE", "mobile"),
        ("+33801234567", "FR", "toll_free"),
        ("+33912345678", "FR", "landline"),  # French 09 (VoIP) numbers count as landlines
    ],
)
def test_design_sample_numbers_parse(raw, country, number_type):
    parsed = parse_number(raw)
    assert (parsed.e164, parsed.country, parsed.number_type) == (raw, country, number_type)


def test_national_format_with_country_and_spaces():
    assert parse_number(" 06 12 34 56 78 ", country="FR").e164 == "+33612345678"


@pytest.mark.parametrize("raw", ["", "hello", "+3361234567", "+33 6 12", "+999123456789"])
def test_invalid_numbers(raw):
    with pytest.raises(ValidationError) as info:
        parse_number(raw)
    assert info.value.error_dict["e164"][0].code == "invalid_number"


def test_type_contradicting_the_number_is_invalid():
    with pytest.raises(ValidationError) as info:
        parse_number("+33123456789", declared_type="mobile")
    assert info.value.error_dict["e164"][0].code == "invalid_number"


def test_country_contradicting_the_number_is_invalid():
    with pytest.raises(ValidationError):
        parse_number("+447400123456", country="FR")


def test_nanp_type_comes_from_the_declaration():
    assert parse_number("+12015550123", declared_type="mobile").number_type == "mobile"
    assert parse_number("+12015550123", declared_type="landline").number_type == "landline"
    with pytest.raises(ValidationError):
        parse_number("+12015550123")


@pytest.mark.parametrize("country", ["FR", "GB", "ES", "BE", "DE", "IT", "US"])
def test_rule_10_no_sms_or_mms_on_landlines(country):
    assert capabilities_for(country, "landline") == ("voice",)
    assert "sms" in capabilities_for(country, "mobile")


def test_format_for_people():
    assert format_for_people("+33612345678") == "+33 6 12 34 56 78"


@pytest.mark.parametrize(("country", "number_type"), list(NUMBER_PLANS))
def test_inventory_plans_generate_valid_numbers(country, number_type):
    numbers = list(generate_numbers(country, number_type, 5))
    assert len(numbers) == 5
    for e164 in numbers:
        parsed = parse_number(e164, declared_type=number_type)
        assert (parsed.country, parsed.number_type) == (country, number_type)


def test_capacity_any_and_per_type():
    assert has_free_slot({"any": 1}, {}, "toll_free")
    assert not has_free_slot({"any": 1}, {"mobile": 1}, "landline")
    multi = {"landline": 1, "mobile": 3}
    assert has_free_slot(multi, {"landline": 1, "mobile": 2}, "mobile")
    assert not has_free_slot(multi, {"landline": 1, "mobile": 3}, "mobile")
    assert not has_free_slot(multi, {"landline": 1}, "landline")
    assert not has_free_slot(multi, {}, "toll_free")
    assert not has_free_slot({}, {}, "mobile")


def test_rule_8_every_number_after_the_first_filling_is_a_change():
    assert not receiving_counts_as_change(numbers_received=0, capacity={"any": 1})
    assert receiving_counts_as_change(numbers_received=1, capacity={"any": 1})
    multi = {"landline": 1, "mobile": 3}
    assert not receiving_counts_as_change(numbers_received=3, capacity=multi)
    assert receiving_counts_as_change(numbers_received=4, capacity=multi)
    assert has_changes_left(numbers_received=5, changes_used=4, max_changes=5, capacity={"any": 1})
    assert not has_changes_left(
        numbers_received=6, changes_used=5, max_changes=5, capacity={"any": 1}
    )

import pytest

from blazz.phones import InvalidPhoneNumber, normalize_phone


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+55 11 98765-0103", "+5511987650103"),
        ("5511987650103@c.us", "+5511987650103"),
        ("+1 (415) 555-0101", "+14155550101"),
        ("14155550101", "+14155550101"),
    ],
)
def test_it_normalizes_to_e164(raw, e164):
    assert normalize_phone(raw) == e164


@pytest.mark.parametrize(
    "raw", ["", "hello", "+1", "+999123", "+44 7700 900104", "0" * 40, "+1415555\x000101"]
)
def test_it_refuses_what_is_not_a_valid_phone_number(raw):
    with pytest.raises(InvalidPhoneNumber):
        normalize_phone(raw)

"""Phone numbers are parsed and validated by `phonenumbers` (Google's libphonenumber), never
by a regex, and stored in E.164."""

import phonenumbers


class InvalidPhoneNumber(ValueError):
    pass


def normalize_phone(raw: str, *, region: str | None = None) -> str:
    """'+55 11 98765-0103' → '+5511987650103'. Also accepts WhatsApp ids ('5511…@c.us').
    Raises InvalidPhoneNumber with a message fit for an API error."""
    text = (raw or "").strip()
    if "@" in text:
        user, server = text.split("@", 1)
        # Only a `c.us` (or legacy `s.whatsapp.net`) id is a phone number. A LID
        # (`49991743450909@lid`) is an opaque WhatsApp identity: read as a phone it would
        # become a valid-looking but wrong number.
        if server not in ("c.us", "s.whatsapp.net"):
            raise InvalidPhoneNumber(f"{raw!r} is a WhatsApp id, not a phone number.")
        text = "+" + user.split(":", 1)[0]
    if text and not text.startswith("+") and region is None:
        text = "+" + text
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(f"{raw!r} is not a phone number: {exc}") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise InvalidPhoneNumber(f"{raw!r} is not a valid phone number.")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)

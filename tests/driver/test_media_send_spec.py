"""What the worker asks the page to send for an outbound media chat (pure logic, no browser):
wa-js 4.6.0's sendVCardContactMessage takes a contact id and a name, so a contact card is
reduced to its WhatsApp number and name; a file goes with its size, sniffed mimetype, name
and caption; a location with its coordinates."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from sessions_app.webjs.host.media import outbound_media_spec, send_timeout_for, vcard_contact


def test_it_reads_the_whatsapp_number_of_a_contact_card():
    card = (
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Maria Souza\r\n"
        "TEL;type=CELL;waid=5511988887777:+55 11 98888-7777\r\nEND:VCARD"
    )
    assert vcard_contact(card) == ("+5511988887777", "Maria Souza")


def test_without_a_waid_it_takes_the_first_telephone_number():
    card = "BEGIN:VCARD\nVERSION:3.0\nFN:João\nTEL;TYPE=work:+1 (415) 555-0142\nTEL:+5511999999999\nEND:VCARD"
    assert vcard_contact(card) == ("+14155550142", "João")


def test_a_card_without_a_usable_number_has_none():
    assert vcard_contact("BEGIN:VCARD\nFN:Nobody\nTEL:123\nEND:VCARD") == (None, "Nobody")
    assert vcard_contact("") == (None, "")


def chat(media, *, body="", media_file=None):
    return SimpleNamespace(media=media, body=body, media_file=media_file)


def test_a_text_has_no_media_spec():
    assert outbound_media_spec(chat(None, body="oi")) is None


def test_a_file_goes_with_its_stored_size_sniffed_type_name_and_caption():
    stored = SimpleNamespace(size=1234, mimetype="application/pdf")
    spec = outbound_media_spec(
        chat(
            {"type": "document", "mimetype": "text/plain", "filename": "boleto.pdf"},
            body="seu boleto",
            media_file=stored,
        )
    )
    assert spec == {
        "kind": "document",
        "size": 1234,
        "mimetype": "application/pdf",
        "filename": "boleto.pdf",
        "caption": "seu boleto",
    }
    assert send_timeout_for(spec) >= 30


def test_a_file_whose_bytes_are_gone_cannot_be_sent():
    with pytest.raises(ValueError, match="file"):
        outbound_media_spec(chat({"type": "image"}))


def test_locations_and_cards_need_no_bytes():
    assert outbound_media_spec(chat({"type": "location", "lat": 1.5, "lng": -2.25, "name": "Loja"})) == {
        "kind": "location",
        "lat": 1.5,
        "lng": -2.25,
        "name": "Loja",
        "address": "",
    }
    card = "BEGIN:VCARD\nFN:Ana\nTEL;waid=14155550142:+1 415 555 0142\nEND:VCARD"
    assert outbound_media_spec(chat({"type": "vcard", "vcard": card})) == {
        "kind": "vcard",
        "contact": "+14155550142",
        "name": "Ana",
    }
    with pytest.raises(ValueError, match="phone number"):
        outbound_media_spec(chat({"type": "vcard", "vcard": "BEGIN:VCARD\nFN:Ana\nEND:VCARD"}))
    with pytest.raises(ValueError, match="cannot send"):
        outbound_media_spec(chat({"type": "poll"}))

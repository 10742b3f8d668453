"""The control API answers bad input with a clear 400/404/409, never a 500, and the
simulator keeps linked devices across a restart when given a state file."""

from __future__ import annotations

import secrets

import pytest

from .support import SimProcess, hello, link_bare_page, random_phone


@pytest.fixture
def pending_device(sim):
    """A device showing a QR, played by a bare websocket (no browser needed)."""
    identity = {"device_id": secrets.token_hex(10), "secret": secrets.token_hex(32)}
    assert hello(sim.url, **identity)["type"] == "qr"
    return identity


GARBAGE = [
    ("POST", "/scan", None, b"{not json"),
    ("POST", "/scan", None, b"\xff\xfe\x00"),
    ("POST", "/scan", [], None),
    ("POST", "/scan", {"phone": 5511999999999, "device_id": "abcdefgh12"}, None),
    ("POST", "/scan", {"phone": "+123", "device_id": "abcdefgh12"}, None),
    ("POST", "/scan", {"phone": "+5511999999999"}, None),
    ("POST", "/scan", {"phone": "+5511999999999", "device_id": "../../etc"}, None),
    ("POST", "/scan", {"phone": "+5511999999999", "code": ""}, None),
    ("POST", "/scan", {"phone": "+5511999999999", "code": ["x"]}, None),
    ("POST", "/link-code", {"phone": "+5511999999999", "code": "0000"}, None),
    ("POST", "/link-code", {"phone": "+5511999999999", "code": 12345678}, None),
    ("POST", "/link-code", {"phone": "nope", "code": "ABCDEFGH"}, None),
    ("POST", "/messages", {"from": "abc", "to": "+5511999999999", "body": "x"}, None),
    ("POST", "/messages", {"from": "+5511888888888", "to": "+5511999999999"}, None),
    ("POST", "/messages", {"from": "+5511888888888", "to": "+5511999999999", "body": ""}, None),
    ("POST", "/messages", {"from": "+5511888888888", "to": "+5511999999999", "body": {"a": 1}}, None),
    ("POST", "/messages", {"from": "+5511888888888", "to": "+5511999999999", "body": "x" * 70000}, None),
    ("POST", "/messages", "just a string", None),
    ("POST", "/acks", {"id": 5, "ack": 2}, None),
    ("POST", "/acks", {"id": "x", "ack": 7}, None),
    ("POST", "/acks", {"id": "x", "ack": True}, None),
    ("POST", "/acks", {"id": "x", "ack": "3"}, None),
    ("POST", "/acks", {"id": "x", "ack": 2.0}, None),
    ("GET", "/devices/abcdefgh%0A", None, None),
    ("POST", "/devices/bad%20id!/freeze", {}, None),
    ("GET", "/devices/short", None, None),
    ("GET", "/phones/garbage/outbox", None, None),
    ("POST", "/phones/+1/logout", {}, None),
]


@pytest.mark.parametrize(("method", "path", "body", "raw"), GARBAGE)
def test_it_rejects_garbage_with_400(sim, method, path, body, raw):
    status, data = sim.api(method, path, body, raw=raw)

    assert status == 400, (status, data)
    assert isinstance(data, dict) and data["error"]


def test_it_answers_404_and_409_for_things_that_do_not_fit(sim, pending_device):
    device_id = pending_device["device_id"]
    assert sim.api("GET", f"/devices/{'0' * 20}")[0] == 404
    assert sim.api("POST", f"/devices/{device_id}/explode", {})[0] == 404
    assert sim.api("POST", "/scan", {"phone": "+5511999999999", "code": "2@never-shown"})[0] == 404
    assert sim.api("POST", "/link-code", {"phone": "+5511999999999", "code": "ABCD-EFGH"})[0] == 404
    assert sim.api("POST", "/acks", {"id": "true_1@c.us_3EB0", "ack": 2})[0] == 404
    assert (
        sim.api("POST", "/messages", {"from": random_phone(), "to": random_phone(), "body": "hi"})[0] == 404
    )
    # The bare websocket has hung up, so no page shows this device's QR any more.
    assert sim.api("POST", "/scan", {"phone": random_phone(), "device_id": device_id})[0] == 409
    assert sim.api("POST", f"/devices/{device_id}/logout", {})[0] == 409
    for hold in ("soon", -1, 10**9, True):
        assert sim.api("POST", f"/devices/{device_id}/drop", {"hold_s": hold})[0] == 400


def test_it_keeps_linked_devices_across_a_restart_with_a_state_file(tmp_path):
    state_file = tmp_path / "wasim.json"
    identity = {"device_id": secrets.token_hex(10), "secret": secrets.token_hex(32)}
    phone = random_phone()
    first = SimProcess("--port", "0", "--state-file", str(state_file), log_path=tmp_path / "1.log").start()
    try:
        paired = link_bare_page(first.url, **identity, phone=phone)
        assert (paired["type"], paired["phone"]) == ("paired", phone)
        assert paired["lid"].endswith("@lid")  # the phone's own LID, told to the page at login
    finally:
        assert first.stop() == 0
    second = SimProcess("--port", "0", "--state-file", str(state_file), log_path=tmp_path / "2.log").start()
    try:
        assert hello(second.url, **identity, phone=phone) == {
            "type": "session",
            "phone": phone,
            "lid": paired["lid"],
        }
        assert second.ok("GET", "/phones") == {phone: [identity["device_id"]]}
        assert hello(second.url, device_id=identity["device_id"], secret="f" * 64)["type"] == "rejected"
    finally:
        assert second.stop() == 0


def test_it_forgets_everything_on_reset(sim, pending_device):
    sim.ok("POST", "/reset", {})

    assert sim.ok("GET", "/devices") == []
    assert hello(sim.url, **pending_device, phone="+5511999999999") == {"type": "logged_out"}

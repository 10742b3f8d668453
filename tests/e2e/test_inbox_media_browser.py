"""Media messages in the team inbox, in a real headless Chromium (issue 17): a real daphne, a
real session worker with its own Chromium on the simulator. A customer sends a photo, a voice
note and a PDF from their phone; the worker fetches the bytes from its page; the inbox shows the
photo, plays the voice note (the <audio> element really decodes it, and goes on playing when
the next message re-reads the thread, which does not load the photo again) and the PDF's link
gives back the same bytes (sha256 compared in the page). A photo attached in the reply box reaches
the customer's phone byte for byte. A message whose bytes arrive after it shows "Downloading…"
and turns into the photo live (`media.ready`), without a reload.
BLAZZ_SCREENSHOTS=1 saves docs/screenshots/inbox-media-*.png (desktop, and 390 px wide)."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator

import pytest
from django.conf import settings
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from messaging.models import Chat, ContactSession
from messaging.services.media import inbound_media_bytes_store, media_thumbnail_make
from sessions_app.models import WorkerInstance
from tests.e2e import media_samples
from tests.e2e.test_connect_number import connect
from tests.e2e.test_csp_browser import RECORD_VIOLATIONS, violations
from tests.e2e.web import (
    AsgiServer,
    asgi_server,
    assert_not_reloaded,
    headless_browser,
    log_in,
    page_of,
    screenshot,
    size_viewport,
    wait,
    watch_live,
)
from tests.e2e.workers import wait_until
from tests.factories import ContactFactory, ContactSessionFactory, WhatsAppSessionFactory

pytestmark = [pytest.mark.e2e, pytest.mark.browser, pytest.mark.django_db(transaction=True)]
NUMBER, CUSTOMER = "+5511987650171", "+14155550171"


@pytest.fixture(scope="module")
def server(django_db_setup, tmp_path_factory) -> Iterator[AsgiServer]:
    # The bytes the test and the workers store must be the ones the web process serves.
    media = {"BLAZZ_MEDIA_ROOT": str(settings.BLAZZ_MEDIA_ROOT)}
    with asgi_server(tmp_path_factory.mktemp("daphne"), extra_env=media) as process:
        yield process


@pytest.fixture(scope="module")
def desktop(tmp_path_factory) -> Iterator[WebDriver]:
    with headless_browser(tmp_path_factory.mktemp("desktop")) as browser:
        browser.set_script_timeout(30)
        # Every Content-Security-Policy violation of every page is recorded (none allowed).
        browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_VIOLATIONS})
        yield browser


def open_logged_in(page: WebDriver, server: AsgiServer, user, path: str) -> None:
    """Logs in straight to `path` and waits for it to be live. (log_in's own wait is met by the
    login page itself, whose URL ends with `?next=<path>`: a driver.get right after it raced the
    login's redirect, which sometimes won and left the browser on the list.)"""
    log_in(page, server, user, next_path=path)
    wait(page, lambda d: d.current_url == server.url + path, f"{path} after login")
    watch_live(page)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def sha256_in_page(driver: WebDriver, css: str, attribute: str = "href") -> str:
    """Fetches the link of the element `css` the way the page would (same origin, its cookies)
    and hashes what came back, in the page."""
    return driver.execute_async_script(
        """
        var done = arguments[arguments.length - 1];
        var el = document.querySelector(arguments[0]);
        if (!el) { done("no element " + arguments[0]); return; }
        fetch(el.getAttribute(arguments[1]), { credentials: "same-origin" })
          .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.arrayBuffer(); })
          .then(function (b) { return crypto.subtle.digest("SHA-256", b); })
          .then(function (h) {
            var hex = function (x) { return x.toString(16).padStart(2, "0"); };
            done(Array.from(new Uint8Array(h)).map(hex).join(""));
          })
          .catch(function (e) { done("error: " + e); });
        """,
        css,
        attribute,
    )


def image_shown(driver: WebDriver, chat: Chat) -> bool:
    return driver.execute_script(
        "var img = document.querySelector(arguments[0]);"
        "return !!img && img.complete && img.naturalWidth > 0 && img.offsetParent !== null;",
        f'[data-chat="{chat.uuid}"] .media-image img',
    )


def play(driver: WebDriver, chat: Chat) -> list:
    """Presses play on the message's player (after a click on the page: browsers only let a
    page with user activation play sound) and reports [readyState, currentTime, error]."""
    # The reply box: outside every region a live update re-reads, so never a stale element.
    driver.find_element(By.CSS_SELECTOR, "[data-testid=reply] textarea").click()
    return driver.execute_async_script(
        """
        var done = arguments[arguments.length - 1];
        var audio = document.querySelector(arguments[0]);
        audio.play().then(function () {
          setTimeout(function () { done([audio.readyState, audio.currentTime, null]); }, 700);
        }).catch(function (e) { done([audio.readyState, audio.currentTime, String(e)]); });
        """,
        f'[data-chat="{chat.uuid}"] audio',
    )


# Live updates swap whole regions of the page: every read below is one script run, so an
# element found a moment ago can never have gone stale in between (as in tests/e2e/web.py).


def text_of(driver: WebDriver, css: str) -> str:
    return driver.execute_script(
        "var el = document.querySelector(arguments[0]); return el ? el.textContent : '';", css
    )


def audio_state(driver: WebDriver, chat: Chat) -> list:
    """[kept mark, paused, currentTime] of the message's <audio>."""
    return driver.execute_script(
        "var a = document.querySelector(arguments[0]);"
        "return a ? [a.__blazzKept === true, a.paused, a.currentTime] : [false, true, 0];",
        f'[data-chat="{chat.uuid}"] audio',
    )


def scroll_to(driver: WebDriver, chat: Chat) -> None:
    driver.execute_script(
        "document.querySelector(arguments[0]).scrollIntoView({block: 'center'});",
        f'[data-chat="{chat.uuid}"]',
    )


def customer_sends(sim, **message) -> None:
    sim.ok("POST", "/messages", {"from": CUSTOMER, "to": NUMBER, **message})


def test_the_inbox_shows_a_photo_plays_a_voice_note_and_downloads_a_pdf(
    sim, start_worker, server, desktop, alice, workspace_a
):
    worker = start_worker("wa_media_inbox")
    wait_until(
        lambda: WorkerInstance.objects.filter(name="wa_media_inbox").exists(), what="worker", log=worker.log
    )
    number = connect(sim, worker, workspace_a, NUMBER)
    ContactFactory(workspace=workspace_a, phone=CUSTOMER, name="Ana")
    # Long enough to still be playing when the next message arrives.
    picture, voice, invoice = media_samples.png(), media_samples.ogg_opus_voice_note(20), media_samples.pdf()

    customer_sends(
        sim, type="image", data=b64(picture), mimetype="image/png", caption="My receipt from Tuesday"
    )
    customer_sends(sim, type="ptt", data=b64(voice), mimetype="audio/ogg; codecs=opus", duration=20)
    customer_sends(
        sim, type="document", data=b64(invoice), mimetype="application/pdf", filename="invoice-1042.pdf"
    )
    chats = wait_until(
        lambda: (
            found
            if len(found := list(Chat.objects.filter(whatsapp_session=number).order_by("created_at", "id")))
            == 3
            and all(c.media_status == "ready" for c in found)
            else None
        ),
        timeout=120,
        what="three media messages with their bytes",
        log=worker.log,
    )
    photo, voice_note, document = chats
    assert [c.media["type"] for c in chats] == ["image", "ptt", "document"]
    assert [c.media_file.sha256 for c in chats] == [
        hashlib.sha256(b).hexdigest() for b in (picture, voice, invoice)
    ]
    conversation = ContactSession.objects.get(contact__phone=CUSTOMER, whatsapp_session=number)
    # The photo's thumbnail, as the general worker makes it (none runs here: the test stands in).
    media_thumbnail_make(media_file_pk=photo.media_file_id)
    photo.media_file.refresh_from_db()
    assert photo.media_file.thumbnail_name

    with page_of(desktop) as page:
        open_logged_in(page, server, alice, f"/inbox/c/{conversation.uuid}/")
        # The list previews the newest message by its file's name.
        assert "📄 invoice-1042.pdf" in text_of(page, "[data-testid=conversations]")

        # The photo inline (its thumbnail or itself), the caption under it, full size one click away.
        wait(page, lambda d: image_shown(d, photo), "the photo in the thread")
        # Inline: the thumbnail; one click away: the full size, the customer's very bytes.
        thumb_width, thumb_src, full_href = page.execute_script(
            "var a = document.querySelector(arguments[0]), img = a.querySelector('img');"
            "return [img.naturalWidth, img.getAttribute('src'), a.getAttribute('href')];",
            f'[data-chat="{photo.uuid}"] [data-testid=media-full]',
        )
        assert thumb_width <= settings.BLAZZ_MEDIA_THUMBNAIL_PX < 480 and thumb_src != full_href
        assert "My receipt from Tuesday" in text_of(page, f'[data-chat="{photo.uuid}"]')
        assert (
            sha256_in_page(page, f'[data-chat="{photo.uuid}"] [data-testid=media-full]')
            == photo.media_file.sha256
        )
        scroll_to(page, photo)
        wait(page, lambda d: image_shown(d, photo), "the photo, before its picture is taken")
        screenshot(page, "inbox-media-image")

        # The voice note plays: the browser decoded the stored Ogg/Opus and its clock moves.
        ready_state, current_time, error = play(page, voice_note)
        assert error is None and ready_state >= 2 and current_time > 0, (ready_state, current_time, error)
        assert "Voice note · 0:20" in text_of(page, f'[data-chat="{voice_note.uuid}"]')
        scroll_to(page, voice_note)
        # A second into the clip, so the picture shows the player moving.
        wait(
            page,
            lambda d: audio_state(d, voice_note)[2] > 1.5,
            "1.5 s played",
        )
        screenshot(page, "inbox-media-voice-note")
        # A new message re-reads the thread around it: the same player goes on playing.
        page.execute_script(
            "document.querySelector(arguments[0]).__blazzKept = true;"
            "document.querySelector(arguments[1]).__blazzKept = true;",
            f'[data-chat="{voice_note.uuid}"] audio',
            f'[data-chat="{photo.uuid}"] img',
        )
        customer_sends(sim, body="did you hear it?")
        wait(
            page,
            lambda d: "did you hear it?" in text_of(d, "[data-testid=thread]"),
            "the next message in the thread",
        )
        kept, paused, position = audio_state(page, voice_note)
        assert kept and not paused and position > 1.5, (kept, paused, position)
        # And the photo is not loaded again: the same <img>, inside the fresh link.
        assert page.execute_script(
            "return document.querySelector(arguments[0]).__blazzKept === true;",
            f'[data-chat="{photo.uuid}"] img',
        )

        # The PDF is a download with its name and size, and the link gives back the same bytes.
        download, text = page.execute_script(
            "var a = document.querySelector(arguments[0]);"
            "return [a.getAttribute('download'), a.textContent];",
            f'[data-chat="{document.uuid}"] [data-testid=media-download]',
        )
        assert download == "invoice-1042.pdf"
        assert "invoice-1042.pdf" in text and "bytes" in text
        assert (
            sha256_in_page(page, f'[data-chat="{document.uuid}"] [data-testid=media-download]')
            == hashlib.sha256(invoice).hexdigest()
        )
        scroll_to(page, document)
        screenshot(page, "inbox-media-pdf")
        # The thumbnails, the players and the downloads all stay inside the page's policy.
        assert violations(page) == []

        # At phone width the media fit the screen: nothing sideways.
        size_viewport(page, 390, 844)
        try:
            page.get(f"{server.url}/inbox/c/{conversation.uuid}/")
            wait(page, lambda d: image_shown(d, photo), "the photo on a phone")
            assert page.execute_script("return document.documentElement.scrollWidth") <= 390
            scroll_to(page, voice_note)
            screenshot(page, "inbox-media-phone")
        finally:
            size_viewport(page, 1280, 800)


def test_a_photo_appears_live_when_its_bytes_arrive(server, desktop, alice, workspace_a):
    """No worker: the test stands in for it and hands the bytes in through the same service."""
    number = WhatsAppSessionFactory(workspace=workspace_a, status="connected", phone_number="+5511987650172")
    ana = ContactFactory(workspace=workspace_a, phone="+14155550172", name="Ana")
    conversation = ContactSessionFactory(contact=ana, whatsapp_session=number)
    chat = Chat.objects.create(
        workspace=workspace_a,
        whatsapp_session=number,
        contact=ana,
        wam_id="false_14155550172@c.us_3EB0MEDIA0001",
        direction=Chat.Direction.INBOUND,
        body="the broken part",
        media={"type": "image", "mimetype": "image/png", "size": 9954},
        media_status=Chat.MediaStatus.PENDING,
        status=Chat.Status.DELIVERED,
    )
    picture = media_samples.png()
    with page_of(desktop) as page:
        open_logged_in(page, server, alice, f"/inbox/c/{conversation.uuid}/")
        assert "Downloading…" in text_of(page, f'[data-chat="{chat.uuid}"]')
        assert inbound_media_bytes_store(chat_pk=chat.pk, data=picture)
        wait(page, lambda d: image_shown(d, chat), "the photo replacing 'Downloading…'")
        assert_not_reloaded(page)
        assert (
            sha256_in_page(page, f'[data-chat="{chat.uuid}"] [data-testid=media-full]')
            == hashlib.sha256(picture).hexdigest()
        )


def test_a_photo_attached_in_the_reply_box_reaches_the_customers_phone(
    sim, start_worker, server, desktop, alice, workspace_a, tmp_path
):
    worker = start_worker("wa_media_attach")
    wait_until(
        lambda: WorkerInstance.objects.filter(name="wa_media_attach").exists(), what="worker", log=worker.log
    )
    number = connect(sim, worker, workspace_a, NUMBER)
    ContactFactory(workspace=workspace_a, phone=CUSTOMER, name="Ana")
    customer_sends(sim, body="can you send me the shipping label?")
    conversation = wait_until(
        lambda: ContactSession.objects.filter(contact__phone=CUSTOMER, whatsapp_session=number).first(),
        timeout=60,
        what="the conversation",
        log=worker.log,
    )
    picture = media_samples.png(320, 240)
    path = tmp_path / "shipping-label.png"
    path.write_bytes(picture)

    too_big = tmp_path / "scan.png"
    with open(too_big, "wb") as handle:  # sparse: only its size matters, it is never uploaded
        handle.truncate(settings.BLAZZ_MEDIA_MAX_DOCUMENT_BYTES + 1)

    with page_of(desktop) as page:
        open_logged_in(page, server, alice, f"/inbox/c/{conversation.uuid}/")
        # Over every limit (a document's): refused in the box before any upload.
        file_input = page.find_element(By.CSS_SELECTOR, "[data-testid=attach] input[type=file]")
        file_input.send_keys(str(too_big))
        page.find_element(By.CSS_SELECTOR, "[data-testid=reply] textarea").send_keys("Here it is")
        page.find_element(By.CSS_SELECTOR, "[data-testid=reply] button[type=submit]").click()
        wait(
            page,
            lambda d: d.find_element(By.CSS_SELECTOR, "[data-attach-error]").is_displayed(),
            "the refusal",
        )
        assert (
            "the limit for this kind of file is 100.0 MB"
            in page.find_element(By.CSS_SELECTOR, "[data-attach-error]").text
        )
        assert not Chat.objects.filter(direction="outbound").exists()
        page.find_element(By.CSS_SELECTOR, "[data-attach-clear]").click()
        page.find_element(By.CSS_SELECTOR, "[data-testid=reply] textarea").clear()
        page.find_element(By.CSS_SELECTOR, "[data-testid=attach] input[type=file]").send_keys(str(path))
        page.find_element(By.CSS_SELECTOR, "[data-testid=reply] textarea").send_keys("Here it is")
        page.find_element(By.CSS_SELECTOR, "[data-testid=reply] button[type=submit]").click()
        sent = wait_until(
            lambda: Chat.objects.filter(direction="outbound", whatsapp_session=number).first(),
            timeout=60,
            what="the reply with its photo",
            log=worker.log,
        )
        assert (sent.body, sent.media["type"]) == ("Here it is", "image")
        # On the customer's phone: the same bytes, the caption.
        row = wait_until(
            lambda: next(
                (
                    m
                    for m in sim.ok("GET", f"/phones/{NUMBER}/outbox")
                    if (m.get("media") or {}).get("sha256")
                ),
                None,
            ),
            timeout=90,
            what="the photo on the customer's phone",
            log=worker.log,
        )
        assert row["media"]["sha256"] == hashlib.sha256(picture).hexdigest()
        assert row["type"] == "image" and "Here it is" in (row["body"], row["media"].get("caption"))
        # And in the thread, shown like any photo.
        wait(page, lambda d: image_shown(d, sent), "the sent photo in the thread")

"""Media in an S3-compatible bucket (issue 17), through Django's storage API and
django-storages, against a real S3-speaking server: moto's standalone server, started here as
a process of its own (nothing in Blazz is patched), and stopped by its pid afterwards. Also
the `manage.py check` errors for half-configured S3 settings."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from blazz.settings import media_storage_config
from messaging.media.checks import check_media_settings
from messaging.media.storage import media_storage
from messaging.services.media import media_file_store, media_link, media_thumbnail_make
from tests.messaging.media_support import PDF_BYTES, png_bytes

BUCKET = "blazz-media-test"
CREDENTIALS = {"access_key": "testing-key", "secret_key": "testing-secret"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3_endpoint():
    port = free_port()
    server = Path(sys.executable).with_name("moto_server")
    process = subprocess.Popen(
        [str(server), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail("moto_server did not start")
                time.sleep(0.1)
        endpoint = f"http://127.0.0.1:{port}"
        boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id=CREDENTIALS["access_key"],
            aws_secret_access_key=CREDENTIALS["secret_key"],
        ).create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # its own session: the server and nothing else
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture
def s3_media(settings, s3_endpoint, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "blazz_media": media_storage_config(
            root=tmp_path,
            bucket=BUCKET,
            endpoint_url=s3_endpoint,
            region="us-east-1",
            access_key=CREDENTIALS["access_key"],
            secret_key=CREDENTIALS["secret_key"],
        ),
    }
    return s3_endpoint


@pytest.mark.django_db
def test_it_stores_and_reads_back_through_s3(s3_media, workspace_a, alice_api, client, tmp_path):
    data = png_bytes(size=(900, 600))
    media_file = media_file_store(workspace=workspace_a, data=data, kind="image")
    again = media_file_store(workspace=workspace_a, data=data, kind="image")
    assert again.pk == media_file.pk

    assert type(media_storage()).__name__ == "S3Storage"
    with media_storage().open(media_file.storage_name, "rb") as stored:
        assert stored.read() == data
    listed = boto3.client(
        "s3",
        endpoint_url=s3_media,
        region_name="us-east-1",
        aws_access_key_id=CREDENTIALS["access_key"],
        aws_secret_access_key=CREDENTIALS["secret_key"],
    ).list_objects_v2(Bucket=BUCKET, Prefix=str(workspace_a.uuid))
    assert [o["Key"] for o in listed["Contents"]] == [media_file.storage_name]
    assert not any(tmp_path.iterdir())  # nothing went to the filesystem

    response = alice_api.get(f"/api/v1/media/{media_file.uuid}")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == data
    assert media_thumbnail_make(media_file_pk=media_file.pk) is True
    media_file.refresh_from_db()
    thumb = client.get(media_link(media_file=media_file, thumbnail=True))
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/jpeg"

    document = media_file_store(workspace=workspace_a, data=PDF_BYTES, kind="document")
    assert document.mimetype == "application/pdf"


def test_half_configured_s3_settings_are_check_errors(settings):
    settings.BLAZZ_MEDIA_S3_BUCKET = ""
    settings.BLAZZ_MEDIA_S3_ENDPOINT_URL = "https://s3.example.com"
    settings.BLAZZ_MEDIA_S3_ACCESS_KEY_ID = "AKIA"
    settings.BLAZZ_MEDIA_S3_SECRET_ACCESS_KEY = ""
    ids = {error.id for error in check_media_settings(None)}
    assert ids == {"messaging.E010", "messaging.E011"}

    settings.BLAZZ_MEDIA_S3_BUCKET = "media"
    settings.BLAZZ_MEDIA_S3_SECRET_ACCESS_KEY = "secret"
    settings.BLAZZ_MEDIA_S3_ENDPOINT_URL = "s3.example.com"  # no scheme
    assert {error.id for error in check_media_settings(None)} == {"messaging.E012"}

    settings.BLAZZ_MEDIA_S3_ENDPOINT_URL = ""
    assert check_media_settings(None) == []


def test_the_default_settings_pass_the_checks():
    assert check_media_settings(None) == []

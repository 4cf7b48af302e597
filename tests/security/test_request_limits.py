"""Oversized requests are refused early with a 4xx, store nothing and leave no temporary files behind."""

import tempfile
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile

from analytics.models import Event
from campaigns.models import Placement
from campaigns.serving import placement_key_issue
from templates_app.models import Asset

from .conftest import stored_files

pytestmark = pytest.mark.django_db
ASSET_ADD = "/admin/templates_app/asset/add/"
BATCH = "/api/v1/events/batch"


def _django_upload_temp_files() -> set[Path]:
    # TemporaryFileUploadHandler names its files *.upload<ext> in FILE_UPLOAD_TEMP_DIR or the system's.
    return {p for p in Path(tempfile.gettempdir()).glob("*.upload*") if p.is_file()}


@pytest.fixture
def upload_temp_dir(settings, tmp_path) -> Path:
    """Uploads over 1 KiB go to files in a directory of the test's own (the system's temp dir is shared)."""
    directory = tmp_path / "uploads"
    directory.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(directory)
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024
    return directory


@pytest.fixture
def temp_files_opened(monkeypatch) -> list[str]:
    """Names of the temporary upload files Django opened during the test (so their removal means something)."""
    opened = []
    original = TemporaryUploadedFile.__init__

    def recording_init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        opened.append(self.temporary_file_path())

    monkeypatch.setattr(TemporaryUploadedFile, "__init__", recording_init)
    return opened


def test_a_form_with_too_many_fields_is_400_quickly(client, designer, settings, media):
    client.force_login(designer)
    fields = {f"field{i}": "x" for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)}
    started = time.monotonic()

    response = client.post(ASSET_ADD, {"name": "Many", "kind": "decoration", **fields})

    assert response.status_code == 400
    assert time.monotonic() - started < 5
    assert Asset.objects.count() == 0
    assert stored_files(media) == []


def test_too_many_files_is_400_quickly_and_leaves_no_temporary_files(
    client, designer, settings, media, upload_temp_dir, temp_files_opened
):
    client.force_login(designer)
    files = [
        SimpleUploadedFile(f"f{i}.png", b"\x89PNG" + b"\0" * 2048)
        for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FILES + 1)
    ]
    before = _django_upload_temp_files()
    started = time.monotonic()

    response = client.post(ASSET_ADD, {"name": "Many", "kind": "decoration", "file": files})

    assert response.status_code == 400
    assert time.monotonic() - started < 5
    assert len(temp_files_opened) == settings.DATA_UPLOAD_MAX_NUMBER_FILES  # written to disk, then removed
    assert list(upload_temp_dir.iterdir()) == []
    assert _django_upload_temp_files() - before == set()
    assert Asset.objects.count() == 0
    assert stored_files(media) == []


@pytest.fixture
def placement_key() -> str:
    placement = Placement.objects.create(name="feed", channel="recommendation", sizes=[[300, 250]])
    return placement_key_issue(placement=placement)


@pytest.mark.parametrize(
    "size", [pytest.param(4 * 2**20 + 1, id="4MiB+1"), pytest.param(6 * 2**20, id="over-DATA_UPLOAD_MAX_MEMORY_SIZE")]
)
def test_an_oversized_event_batch_is_413_in_the_error_contract_and_stores_nothing(
    client, placement_key, upload_temp_dir, size
):
    body = b'{"events": [' + b" " * (size - len(b'{"events": []}')) + b"]}"
    before = _django_upload_temp_files()

    response = client.post(BATCH, body, content_type="application/json", HTTP_X_PLACEMENT_KEY=placement_key)

    assert len(body) == size
    assert response.status_code == 413
    assert response.json() == {
        "message": "The body is larger than 4194304 bytes.",
        "code": "too_large",
        "extra": {"max_bytes": 4194304},
    }
    assert Event.objects.count() == 0
    assert list(upload_temp_dir.iterdir()) == []
    assert _django_upload_temp_files() - before == set()

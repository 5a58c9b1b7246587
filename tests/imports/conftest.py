import pytest

from onboarding.models import Upload
from onboarding.services.uploads import upload_map_columns, upload_receive
from tests.imports import uploaded


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Uploaded files go to a temporary folder, never the project's data/."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def stage(capturista):
    """`stage(data, name=..., **map_options)` uploads and maps a file as the capturista; returns the upload."""

    def run(data: bytes, name: str = "clientes.csv", *, user=None, mapping=None, encoding="", **options) -> Upload:
        user = user or capturista
        upload = upload_receive(actor=user, file=uploaded(data, name), encoding=encoding)
        return upload_map_columns(actor=user, upload_id=upload.pk, mapping=mapping or upload.mapping, **options)

    return run

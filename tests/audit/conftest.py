import pytest


@pytest.fixture(autouse=True)
def _anchor_file(settings, tmp_path):
    """Each test anchors into its own file, never the development one under var/."""
    settings.AUDIT_ANCHOR_STORE = "file"
    settings.AUDIT_ANCHOR_PATH = tmp_path / "anchors.jsonl"
    return settings.AUDIT_ANCHOR_PATH

import stat

from stampcard import settings as stampcard_settings


def test_a_box_without_secret_key_makes_its_own_once(tmp_path, monkeypatch):
    monkeypatch.setattr(stampcard_settings, "DATA_DIR", tmp_path)
    first = stampcard_settings._local_secret_key()
    assert len(first) >= 50
    assert stampcard_settings._local_secret_key() == first
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no drafts left behind

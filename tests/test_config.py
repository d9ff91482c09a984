"""config.py: the secret key is generated once into the instance folder when none is configured."""

import stat

from config import load_secret_key


def test_a_generated_secret_key_is_kept_and_private(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = load_secret_key(tmp_path)
    assert len(first) >= 48
    assert load_secret_key(tmp_path) == first
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600


def test_the_environment_wins_over_the_file(tmp_path, monkeypatch):
    load_secret_key(tmp_path)
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    assert load_secret_key(tmp_path) == "from-the-environment"

import os
import secrets
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from stampcard import settings as stampcard_settings


def test_a_box_without_secret_key_makes_its_own_once(tmp_path, monkeypatch):
    monkeypatch.setattr(stampcard_settings, "DATA_DIR", tmp_path)
    first = stampcard_settings._local_secret_key()
    assert len(first) >= 50
    assert stampcard_settings._local_secret_key() == first
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no drafts left behind


PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "k" + secrets.token_urlsafe(60),
    "BEHIND_TLS_PROXY": "true",
    "ALLOWED_HOSTS": "cards.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://cards.example.com",
    "DATABASE_URL": "postgres://stampcard@127.0.0.1:5432/stampcard",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}


def run(code_or_args, env, tmp_path):
    """Python in a fresh process with exactly this environment (plus what Python needs)."""
    base = {"PATH": os.environ["PATH"], "STAMPCARD_DATA_DIR": str(tmp_path / "data")}
    args = code_or_args if isinstance(code_or_args, list) else ["-c", code_or_args]
    return subprocess.run(
        [sys.executable, *args],
        env=base | {"PYTHONPATH": SRC, "DJANGO_SETTINGS_MODULE": "stampcard.settings"} | env,
        capture_output=True,
        text=True,
        check=False,
    )


SRC = str(Path(stampcard_settings.BASE_DIR).parent)


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    result = run(
        ["-m", "stampcard", "check", "--deploy", "--fail-level", "WARNING"], PRODUCTION, tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_the_tls_switch_turns_on_cookies_hsts_and_the_redirect(tmp_path):
    code = (
        "from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, "
        "s.SECURE_HSTS_SECONDS >= 31536000, s.SECURE_PROXY_SSL_HEADER)"
    )
    on = run(code, PRODUCTION, tmp_path)
    assert on.stdout.split()[:4] == ["True", "True", "True", "True"], on.stderr
    assert "HTTP_X_FORWARDED_PROTO" in on.stdout
    off = run(code, {}, tmp_path)
    assert off.stdout.split() == ["False", "False", "False", "False", "None"], off.stderr


def test_production_without_a_secret_key_does_not_start(tmp_path):
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    result = run("from django.conf import settings; settings.SECRET_KEY", env, tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr
    assert not (tmp_path / "data" / "secret_key").exists()
    # A real host name alone, without the TLS switch, is production as well.
    public = {"ALLOWED_HOSTS": "cards.example.com"}
    result = run("from django.conf import settings; settings.SECRET_KEY", public, tmp_path)
    assert "SECRET_KEY is not set" in result.stderr


def test_a_local_box_makes_its_own_key_in_a_private_data_folder(tmp_path):
    result = run("from django.conf import settings; print(len(settings.SECRET_KEY))", {}, tmp_path)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) >= 50
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700


def test_old_keys_are_accepted_while_a_new_one_rolls_out(tmp_path):
    env = PRODUCTION | {"SECRET_KEY_FALLBACKS": "old-key-1,old-key-2"}
    code = "from django.conf import settings; print(settings.SECRET_KEY_FALLBACKS)"
    assert run(code, env, tmp_path).stdout.strip() == "['old-key-1', 'old-key-2']"


def test_the_admin_lives_where_the_environment_says(tmp_path):
    code = (
        "import django; django.setup(); "
        "from django.urls import reverse; print(reverse('admin:index'))"
    )
    assert run(code, {"ADMIN_PATH": "ops-7f3a"}, tmp_path).stdout.strip() == "/ops-7f3a/"
    assert run(code, {}, tmp_path).stdout.strip() == "/admin/"


def test_mail_goes_to_the_console_unless_configured(tmp_path):
    code = (
        "from django.conf import settings as s; "
        "print(s.EMAIL_BACKEND, s.EMAIL_HOST, s.EMAIL_PORT, s.EMAIL_USE_TLS)"
    )
    local = run(code, {}, tmp_path).stdout.split()
    assert local[0] == "django.core.mail.backends.console.EmailBackend"
    smtp = run(code, {"EMAIL_URL": "smtp+tls://u:p@mail.example.com:587"}, tmp_path)
    assert smtp.stdout.split() == [
        "django.core.mail.backends.smtp.EmailBackend",
        "mail.example.com",
        "587",
        "True",
    ]


def test_the_data_folder_is_made_private_on_every_start(tmp_path):
    # Production settings (PostgreSQL, a SECRET_KEY) never needed the folder before the first
    # upload, which then made it with the umask's 0755.
    code = "from django.conf import settings; settings.SECRET_KEY"
    data = tmp_path / "data"
    assert run(code, PRODUCTION, tmp_path).returncode == 0
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    data.chmod(0o755)  # an existing folder, made by hand or by an older version
    result = run(code, PRODUCTION, tmp_path)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(data.stat().st_mode) == 0o700


def test_a_data_folder_that_cannot_be_changed_only_warns(tmp_path, monkeypatch):
    monkeypatch.setattr(stampcard_settings, "DATA_DIR", tmp_path)
    tmp_path.chmod(0o755)

    def read_only(*args, **kwargs):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(Path, "chmod", read_only)
    with pytest.warns(UserWarning, match="Read-only file system"):
        assert stampcard_settings.ensure_data_dir() == tmp_path

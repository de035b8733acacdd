"""Settings: one TOML file under COACH_HOME, flags override, bad values named precisely."""

import pytest

from coach.errors import ConfigError
from coach.paths import config_dir, data_dir
from coach.settings import Settings, load_settings


def test_coach_home_moves_settings_and_data(tmp_path, monkeypatch):
    monkeypatch.setenv("COACH_HOME", str(tmp_path))
    assert config_dir() == tmp_path and data_dir() == tmp_path


def test_defaults_without_a_file(tmp_path, monkeypatch):
    monkeypatch.setenv("COACH_HOME", str(tmp_path))
    assert load_settings() == Settings()
    assert load_settings().session.silence_end_s == 12.0


def test_file_values_and_overrides(tmp_path, monkeypatch):
    monkeypatch.setenv("COACH_HOME", str(tmp_path))
    (tmp_path / "settings.toml").write_text(
        '[session]\nplan = "short"\nnames = ["Alex", "Sam"]\nsilence_end_s = 8\n[voice]\nrate_wpm = 140\n')
    s = load_settings()
    assert s.session.plan == "short" and s.session.names == ("Alex", "Sam")
    assert s.session.silence_end_s == 8.0 and s.voice.rate_wpm == 140
    s2 = s.with_overrides(session={"silence_end_s": 5.0, "plan": None})
    assert s2.session.silence_end_s == 5.0 and s2.session.plan == "short"


@pytest.mark.parametrize("text, expected", [
    ("[session\nplan='x'", "not valid TOML"),
    ("[sesion]\nplan='x'", "unknown table [sesion]; allowed: [session], [audio], [voice], [measure], [commands]"),
    ("[session]\nsilence='x'", "[session] has no key 'silence'; allowed: plan, names"),
    ("[session]\nsilence_end_s='long'", "[session] silence_end_s = 'long' is not allowed; it must be a number"),
    ("[session]\nsilence_end_s=-3", "must not be negative"),
    ("[voice]\nrate_wpm=1.5", "it must be a whole number"),
    ("[commands]\nenabled='yes'", "it must be true or false"),
])
def test_bad_settings_name_file_key_and_what_is_allowed(tmp_path, monkeypatch, text, expected):
    monkeypatch.setenv("COACH_HOME", str(tmp_path))
    (tmp_path / "settings.toml").write_text(text)
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert str(tmp_path / "settings.toml") in str(err.value)
    assert expected in str(err.value)

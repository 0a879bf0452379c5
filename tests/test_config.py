"""Configuration: YAML + environment substitution, and errors that name the key."""

import pytest

from gis_service.config import DEMO_DATASET, ConfigError, load_settings


def write(tmp_path, text):
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_without_a_file_the_demo_data_is_used(monkeypatch):
    monkeypatch.delenv("GIS_SERVICE_CONFIG", raising=False)
    settings = load_settings()
    assert settings.source.dataset == DEMO_DATASET
    assert settings.preview.scales == [500, 1000, 2000]


def test_environment_variables_are_substituted(tmp_path, monkeypatch):
    monkeypatch.setenv("MY_PORT", "9123")
    monkeypatch.delenv("UNSET_SCALE", raising=False)
    path = write(tmp_path, "server:\n  port: ${MY_PORT}\npreview:\n  default_scale: ${UNSET_SCALE:-500}\n")
    settings = load_settings(path)
    assert settings.server.port == 9123
    assert settings.preview.default_scale == 500


def test_config_chosen_by_environment(tmp_path, monkeypatch):
    path = write(tmp_path, "server:\n  port: 9555\n")
    monkeypatch.setenv("GIS_SERVICE_CONFIG", str(path))
    assert load_settings().server.port == 9555


def test_relative_dataset_path_is_relative_to_the_config_file(tmp_path):
    path = write(tmp_path, "source:\n  type: local\n  dataset: data/x.gpkg\n")
    assert load_settings(path).source.dataset == tmp_path / "data" / "x.gpkg"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("preview:\n  scales: [100]\n", "preview.scales: scale 1:100 is outside 1:250 … 1:5000"),
        ("preview:\n  scales: [500]\n  default_scale: 1000\n", "default_scale 1:1000 is not in scales"),
        ("preview:\n  max_dpi: 1200\n", "preview.max_dpi: 1200 is outside 72 … 600 dpi"),
        ("server:\n  prot: 80\n", "server.prot: unknown key"),
        ("source:\n  type: wfs2000\n", "source"),
        ("source:\n  gemarkungen:\n    '3144': X\n", "six digits"),
        ("server:\n  port: ${NOT_SET_ANYWHERE}\n", "server.port: environment variable NOT_SET_ANYWHERE is not set"),
        ("- a\n- b\n", "top level must be a mapping"),
        ("server: [\n", "not valid YAML"),
        ("embed:\n  allowed_origins: ['javascript:alert(1)']\n", "is not an origin"),
        ("secret_key: too-short\n", "secret_key: must be at least 32 bytes long"),
    ],
)
def test_wrong_config_names_the_key_and_what_is_wrong(tmp_path, monkeypatch, text, fragment):
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, text))
    assert fragment in str(info.value)


def test_missing_file_is_reported(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.yaml")


def test_instance_secret_is_created_private_and_kept(tmp_path):
    import stat

    from gis_service.wiring import instance_secret

    first = instance_secret(tmp_path)
    assert len(first) == 64 and instance_secret(tmp_path) == first
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]  # no candidate file left behind

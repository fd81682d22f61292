"""Manifest, HACS metadata, translations and brand files as Home Assistant and HACS read them."""

import json
from pathlib import Path
import re
import runpy
import struct
import zipfile

from awesomeversion import AwesomeVersion, AwesomeVersionStrategy

from custom_components.hearthcam.exports.notice import DEFAULT_TEXTS

ROOT = Path(__file__).parents[1]
INTEGRATION = ROOT / "custom_components" / "hearthcam"
# hacs.json is validated with PREVENT_EXTRA: any other key fails HACS validation.
HACS_KEYS = {
    "name",
    "content_in_root",
    "country",
    "filename",
    "hacs",
    "hide_default_branch",
    "homeassistant",
    "persistent_directory",
    "render_readme",
    "zip_release",
}


def _json(path: Path) -> dict[str, object]:
    data = json.loads(path.read_text())
    assert isinstance(data, dict)
    return data


def test_manifest_is_valid_for_hassfest_and_hacs() -> None:
    """Domain matches the folder, keys sorted as hassfest wants, HACS's required keys present."""
    manifest = _json(INTEGRATION / "manifest.json")
    keys = list(manifest)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])
    assert manifest["domain"] == INTEGRATION.name
    for key in ("codeowners", "documentation", "issue_tracker", "version", "iot_class"):
        assert manifest[key], key
    version = AwesomeVersion(str(manifest["version"]))
    assert version.strategy is not AwesomeVersionStrategy.UNKNOWN
    assert manifest["config_flow"] is True
    assert (INTEGRATION / "config_flow.py").is_file()


def test_manifest_requirements_accept_home_assistant_pins() -> None:
    """A requirement that conflicts with HA's own pins would fail to install for users."""
    manifest = _json(INTEGRATION / "manifest.json")
    requirements = manifest["requirements"]
    assert isinstance(requirements, list)
    for requirement in requirements:
        assert re.fullmatch(r"(av|numpy)>=[0-9.]+", requirement), requirement


def test_hacs_json_only_has_keys_hacs_accepts() -> None:
    """HACS rejects unknown keys; the minimum HA version is our floor."""
    hacs = _json(ROOT / "hacs.json")
    assert set(hacs) <= HACS_KEYS
    assert hacs["name"] == "HearthCam"
    assert hacs["homeassistant"] == "2026.10.0"


def test_translations_match_strings() -> None:
    """translations/en.json is what users see; it must carry every string of strings.json."""
    assert _json(INTEGRATION / "translations" / "en.json") == _json(INTEGRATION / "strings.json")


def _leaves(node: object, path: str = "") -> dict[str, str]:
    """Every string of a translation file by its dotted key."""
    if isinstance(node, dict):
        found: dict[str, str] = {}
        for key, value in node.items():
            found |= _leaves(value, f"{path}.{key}" if path else key)
        return found
    assert isinstance(node, str), path
    return {path: node}


def test_every_language_has_every_string() -> None:
    """Each translation has strings.json's keys, and each string its English placeholders."""
    english = _leaves(_json(INTEGRATION / "strings.json"))
    files = sorted((INTEGRATION / "translations").glob("*.json"))
    assert {f.stem for f in files} >= {"en", "de"}
    for file in files:
        strings = _leaves(_json(file))
        assert set(strings) == set(english), file.name
        for key, text in strings.items():
            wanted = set(re.findall(r"{(\w+)}", english[key]))
            assert set(re.findall(r"{(\w+)}", text)) == wanted, f"{file.name}: {key}"


def test_the_notice_falls_back_to_the_english_strings() -> None:
    """The notice's built-in texts are strings.json's, for a language that lacks one."""
    common = _json(INTEGRATION / "strings.json")["common"]
    assert isinstance(common, dict)
    prefix = "export_notice_"
    english = {k.removeprefix(prefix): v for k, v in common.items() if k.startswith(prefix)}
    assert english == DEFAULT_TEXTS


def test_brand_images_are_pngs_of_the_right_size() -> None:
    """HA serves brand/ from the integration; icons are square, logos landscape."""
    expected = {"icon.png": (256, 256), "icon@2x.png": (512, 512)}
    for name, size in expected.items():
        assert _png_size(INTEGRATION / "brand" / name) == size, name
    width, height = _png_size(INTEGRATION / "brand" / "logo.png")
    assert 128 <= height <= 256
    assert width >= height


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    width, height = struct.unpack(">II", header[16:24])
    return width, height


def test_every_key_the_code_uses_has_an_english_string() -> None:
    """A key without a string shows users a raw key instead of a sentence."""
    strings = _json(INTEGRATION / "translations" / "en.json")
    config, exception_strings = strings["config"], strings["exceptions"]
    options = strings["options"]
    assert isinstance(config, dict)
    assert isinstance(options, dict)
    assert isinstance(exception_strings, dict)
    # The "Export a clip" flow's strings are its own (config_subentries.export).
    export_flow = INTEGRATION / "exports" / "flow.py"
    code = "\n".join(p.read_text() for p in INTEGRATION.rglob("*.py") if p != export_flow)

    form_errors = set(re.findall(r'errors\[[^\]]+\] = "(\w+)"', code))
    aborts = set(re.findall(r'(?:abort|reason)="(\w+)"', code)) | {"already_configured"}
    exceptions = set(re.findall(r'translation_key="(\w+)"', code + export_flow.read_text()))
    assert form_errors, "the pattern no longer finds the config flow's errors"
    assert form_errors <= set(config["error"]) | set(options["error"])
    issues = strings["issues"]
    assert isinstance(issues, dict)
    fix_aborts = {
        key for issue in issues.values() for key in issue.get("fix_flow", {}).get("abort", {})
    }
    assert aborts <= set(config["abort"]) | set(options["abort"]) | fix_aborts
    assert exceptions <= set(exception_strings)

    subentry = strings["config_subentries"]
    assert isinstance(subentry, dict)
    flow_code = export_flow.read_text()
    flow_errors = set(re.findall(r'errors\[[^\]]+\] = "(\w+)"', flow_code))
    flow_aborts = set(re.findall(r'reason="(\w+)"', flow_code))
    shown_as_is = re.search(r"FORM_ERRORS: Final = frozenset\(\s*\{([^}]*)\}", flow_code)
    assert flow_errors, "the pattern no longer finds the export flow's errors"
    assert shown_as_is, "the pattern no longer finds the export refusals the flow shows"
    flow_errors |= set(re.findall(r'"(\w+)"', shown_as_is[1])) | {"export_failed"}
    assert flow_errors <= set(subentry["export"]["error"])
    assert flow_aborts <= set(subentry["export"]["abort"])


def _release_builder() -> dict[str, object]:
    """scripts/build_release.py's functions (scripts/ is not a package)."""
    return runpy.run_path(str(ROOT / "scripts" / "build_release.py"))


def test_release_zip_holds_the_integration_alone(tmp_path: Path) -> None:
    """The zip is named by the manifest's version and holds the integration's files at its root.

    HACS extracts a release zip into custom_components/hearthcam/, so a wrapper folder, caches
    or anything from outside the integration would end up in users' installs.
    """
    builder = _release_builder()
    build = builder["build"]
    assert callable(build)
    (INTEGRATION / "__pycache__").mkdir(exist_ok=True)  # as a test run leaves behind
    target = build(tmp_path)
    version = _json(INTEGRATION / "manifest.json")["version"]
    assert target.name == f"hearthcam-{version}.zip"
    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
        manifest = json.loads(archive.read("manifest.json"))
    assert manifest["domain"] == "hearthcam"
    assert {"__init__.py", "config_flow.py", "translations/en.json", "brand/icon.png"} <= set(names)
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert not [n for n in names if n.startswith(("/", "custom_components/", "hearthcam/"))]
    shipped = {
        p.relative_to(INTEGRATION).as_posix()
        for p in INTEGRATION.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }
    assert set(names) == shipped


def test_release_zip_is_reproducible(tmp_path: Path) -> None:
    """The same sources give the same bytes, so a release can be rebuilt and compared."""
    build = _release_builder()["build"]
    assert callable(build)
    first = build(tmp_path / "a").read_bytes()
    assert build(tmp_path / "b").read_bytes() == first


# What Home Assistant 2026.11's built-in Marketplace reads from hacs.json (any other key is
# ignored there, but fails HACS's validation, so only keys both know belong in it).
MARKETPLACE_KEYS = {
    "content_in_root",
    "filename",
    "hacs",
    "hide_default_branch",
    "homeassistant",
    "name",
    "persistent_directory",
    "zip_release",
}


def test_hacs_json_is_read_the_same_by_hacs_and_the_marketplace() -> None:
    """No key that one of the two installers would ignore or refuse; the floor is a version."""
    hacs = _json(ROOT / "hacs.json")
    assert set(hacs) <= HACS_KEYS & MARKETPLACE_KEYS
    assert AwesomeVersion(str(hacs["homeassistant"])).valid
    # Without zip_release both install custom_components/hearthcam from the tagged repository.
    assert "zip_release" not in hacs

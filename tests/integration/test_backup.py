"""A Home Assistant backup taken while clips exist and an export is live holds no footage."""

import io
from pathlib import Path
import tarfile

from homeassistant.core import Context, HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockUser

from custom_components.hearthcam.clip_location import CLIPS_SUBFOLDER, PRIVATE_FOLDER

from .camkit import setup_camera
from .exportkit import EXPORT_FOLDER, EXPORT_OPTIONS, SECRET_URL, call, export_data
from .librarykit import add_clip, clip_mp4
from .test_clip_location import START, configure

__all__ = ["clip_mp4"]


def backup_listing(backup: Path) -> tuple[list[str], list[str]]:
    """Names in a backup's outer tar, and in its Home Assistant tar inside."""
    with tarfile.open(backup) as outer:
        names = outer.getnames()
        inner_file = outer.extractfile("homeassistant.tar.gz")
        assert inner_file is not None  # no password: a plain gzip tar
        with tarfile.open(fileobj=io.BytesIO(inner_file.read()), mode="r:gz") as inner:
            return names, inner.getnames()


async def test_a_backup_holds_no_clip_and_no_bundle(
    hass: HomeAssistant, tmp_path: Path, clip_mp4: Path, hass_admin_user: MockUser
) -> None:
    """Core backup with the local agent: the config folder is in, clips and bundles are not."""
    config = tmp_path / "config"
    # The media folder inside the config folder, as a Home Assistant Core install has it.
    await configure(hass, config, config / "media")
    entry = await setup_camera(hass, SECRET_URL, options=EXPORT_OPTIONS)
    coordinator = entry.runtime_data.coordinator
    info = await add_clip(hass, coordinator.store, coordinator.camera_key, START, clip_mp4)
    assert await async_setup_component(hass, "persistent_notification", {})
    result = await call(hass, "export_clip", export_data(info.clip_id), hass_admin_user)
    bundle = config / EXPORT_FOLDER / f"{result['export_id']}.zip"
    assert await hass.async_add_executor_job(bundle.is_file)  # the export is live
    clip_dir = config.joinpath(*PRIVATE_FOLDER, CLIPS_SUBFOLDER)
    clips = await hass.async_add_executor_job(lambda: sorted(clip_dir.rglob("*.mp4")))
    assert clips

    assert await async_setup_component(hass, "backup", {})
    await hass.async_block_till_done()
    await hass.services.async_call(
        "backup", "create", {}, blocking=True, context=Context(user_id=hass_admin_user.id)
    )
    backups = await hass.async_add_executor_job(lambda: sorted((config / "backups").glob("*.tar")))
    assert len(backups) == 1
    outer, inner = await hass.async_add_executor_job(backup_listing, backups[0])

    assert "homeassistant.tar.gz" in outer
    assert "data" in inner  # the config folder is in
    assert "data/.cache" in inner  # the folder itself, empty: everything below is left out
    footage = [n for n in inner if n.endswith((".mp4", ".zip", ".jpg", ".part"))]
    assert footage == []
    assert not [n for n in inner if n.startswith("data/.cache/")]
    assert not [n for n in inner if "hearthcam" in n and not n.startswith("data/.storage/")]

"""The clip library in Home Assistant's media browser: cameras, days, clips with thumbnails.

Identifiers are in identifiers.py. Home Assistant caches this source for its lifetime, so
nothing here holds a config entry: cameras and the store are looked up on every call. Listing
runs in the executor, where waiting for the store's lock never stalls the event loop.
"""

from dataclasses import dataclass
from datetime import date

from homeassistant.components.media_player.const import MediaClass, MediaType
from homeassistant.components.media_player.errors import BrowseError
from homeassistant.components.media_source import (
    BrowseMediaSource,
    MediaSource,
    MediaSourceItem,
    PlayMedia,
    Unresolvable,
)
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util

from .const import DOMAIN
from .data import DATA_CLIP_STORE
from .engine.clip_info import ClipFile, ClipInfo
from .engine.clips import ClipStore
from .engine.errors import ClipNotFoundError, InvalidClipIdError
from .identifiers import (
    CameraFolder,
    ClipItem,
    DayFolder,
    LibraryIdentifier,
    LibraryRoot,
    camera_key_for,
    parse_identifier,
)
from .library import (
    Texts,
    async_texts,
    clip_title,
    day_label,
    day_page,
    local_days,
    newest_clip,
    newest_of_day,
)
from .views import clip_url

VIDEO_MP4 = "video/mp4"


async def async_get_media_source(hass: HomeAssistant) -> HearthCamMediaSource:
    """Return HearthCam's media source (Home Assistant keeps it for its lifetime)."""
    return HearthCamMediaSource(hass)


@dataclass(frozen=True, slots=True)
class _Context:
    """What one browse needs besides the store: camera names, texts and today's date."""

    titles: dict[str, str]  # camera key -> name, for every configured camera
    texts: Texts
    today: date


class HearthCamMediaSource(MediaSource):
    """Browse and play HearthCam's clips."""

    name = "HearthCam"

    def __init__(self, hass: HomeAssistant) -> None:
        super().__init__(DOMAIN)
        self.hass = hass

    async def async_resolve_media(self, item: MediaSourceItem) -> PlayMedia:
        """Return the (to be signed) URL of a clip's MP4; Unresolvable for anything else."""
        try:
            identifier = parse_identifier(item.identifier)
        except InvalidClipIdError as err:
            raise _unresolvable(item) from err
        store = self.hass.data.get(DATA_CLIP_STORE)
        if not isinstance(identifier, ClipItem) or store is None:
            raise _unresolvable(item)
        try:
            await self.hass.async_add_executor_job(store.get, identifier.clip_id)
        except ClipNotFoundError as err:
            raise _unresolvable(item) from err
        # No path=: a local path would hand the footage to any integration that reads media
        # (AI tasks, uploads); clips leave Home Assistant only through the consented export.
        return PlayMedia(clip_url(identifier.clip_id), VIDEO_MP4)

    async def async_browse_media(self, item: MediaSourceItem) -> BrowseMediaSource:
        """List cameras, a camera's days, or a page of a day's clips."""
        try:
            identifier = parse_identifier(item.identifier)
        except InvalidClipIdError as err:
            raise _browse_error(item) from err
        store = self.hass.data.get(DATA_CLIP_STORE)
        context = _Context(
            titles={
                camera_key_for(entry.entry_id): entry.title
                for entry in self.hass.config_entries.async_entries(DOMAIN)
            },
            texts=await async_texts(self.hass),
            today=dt_util.now().date(),
        )
        if store is None:  # no camera was ever set up: nothing to show yet
            if isinstance(identifier, LibraryRoot):
                return _root([])
            raise _browse_error(item)
        node = await self.hass.async_add_executor_job(_browse, store, identifier, context)
        if node is None:
            raise _browse_error(item)
        return node


def _browse(
    store: ClipStore, identifier: LibraryIdentifier, context: _Context
) -> BrowseMediaSource | None:
    """Build the node for an identifier (in the executor); None if there is no such thing."""
    match identifier:
        case LibraryRoot():
            keys = set(context.titles) | set(store.cameras())
            cameras = [_camera(store, key, context) for key in keys]
            return _root(sorted(cameras, key=lambda node: node.title.casefold()))
        case CameraFolder(camera_key):
            if camera_key not in context.titles and not store.days(camera_key):
                return None
            node = _camera(store, camera_key, context)
            node.children = [
                _day(store, DayFolder(camera_key, day), context)
                for day in local_days(store, camera_key)
            ]
            return node
        case DayFolder():
            return _day_with_clips(store, identifier, context)
        case ClipItem(clip_id):
            try:
                return _clip(store.get(clip_id), context)
            except ClipNotFoundError:
                return None


def _root(children: list[BrowseMediaSource]) -> BrowseMediaSource:
    return BrowseMediaSource(
        domain=DOMAIN,
        identifier=None,
        media_class=MediaClass.DIRECTORY,
        media_content_type=MediaType.VIDEO,
        title=HearthCamMediaSource.name,
        can_play=False,
        can_expand=True,
        children=children,
        children_media_class=MediaClass.DIRECTORY,
    )


def _camera(store: ClipStore, camera_key: str, context: _Context) -> BrowseMediaSource:
    title = context.titles.get(camera_key) or context.texts.format(
        "removed_camera", camera=camera_key
    )
    return BrowseMediaSource(
        domain=DOMAIN,
        identifier=str(CameraFolder(camera_key)),
        media_class=MediaClass.DIRECTORY,
        media_content_type=MediaType.VIDEO,
        title=title,
        can_play=False,
        can_expand=True,
        thumbnail=_thumbnail(newest_clip(store, camera_key)),
        children_media_class=MediaClass.DIRECTORY,
    )


def _day(store: ClipStore, folder: DayFolder, context: _Context) -> BrowseMediaSource:
    newest, count = newest_of_day(store, folder.camera_key, folder.day)
    label = day_label(context.texts, folder.day, context.today)
    return BrowseMediaSource(
        domain=DOMAIN,
        identifier=str(folder),
        media_class=MediaClass.DIRECTORY,
        media_content_type=MediaType.VIDEO,
        title=context.texts.format("day_title", day=label, count=count),
        can_play=False,
        can_expand=True,
        thumbnail=_thumbnail(newest),
        children_media_class=MediaClass.VIDEO,
    )


def _day_with_clips(
    store: ClipStore, folder: DayFolder, context: _Context
) -> BrowseMediaSource | None:
    """Build a page of a day: its clips, then a folder of the next older page if any."""
    page = day_page(store, folder.camera_key, folder.day, folder.page)
    if not page.clips and folder.page > 1:
        return None  # past the last page (clips were deleted since, or a made-up id)
    label = day_label(context.texts, folder.day, context.today)
    if folder.page == 1:
        title = context.texts.format("day_title", day=label, count=page.total)
    else:
        title = context.texts.format(
            "page_title", day=label, first=page.first, last=page.last, total=page.total
        )
    children = [_clip(clip, context) for clip in page.clips]
    if page.last < page.total:
        older = DayFolder(folder.camera_key, folder.day, folder.page + 1)
        children.append(
            BrowseMediaSource(
                domain=DOMAIN,
                identifier=str(older),
                media_class=MediaClass.DIRECTORY,
                media_content_type=MediaType.VIDEO,
                title=context.texts.format(
                    "older_clips",
                    first=page.last + 1,
                    last=min(page.total, page.last + len(page.clips)),
                    total=page.total,
                ),
                can_play=False,
                can_expand=True,
                children_media_class=MediaClass.VIDEO,
            )
        )
    return BrowseMediaSource(
        domain=DOMAIN,
        identifier=str(folder),
        media_class=MediaClass.DIRECTORY,
        media_content_type=MediaType.VIDEO,
        title=title,
        can_play=False,
        can_expand=True,
        children=children,
        children_media_class=MediaClass.VIDEO,
    )


def _clip(clip: ClipInfo, context: _Context) -> BrowseMediaSource:
    return BrowseMediaSource(
        domain=DOMAIN,
        identifier=str(ClipItem(clip.clip_id)),
        media_class=MediaClass.VIDEO,
        media_content_type=VIDEO_MP4,
        title=clip_title(context.texts, clip),
        can_play=True,
        can_expand=False,
        thumbnail=_thumbnail(clip),
    )


def _thumbnail(clip: ClipInfo | None) -> str | None:
    """Path of a clip's thumbnail; the frontend fetches it with the user's credentials."""
    if clip is None or not clip.has_thumbnail:
        return None
    return clip_url(clip.clip_id, ClipFile.THUMBNAIL)


def _unresolvable(item: MediaSourceItem) -> Unresolvable:
    return Unresolvable(
        translation_domain=DOMAIN,
        translation_key="clip_not_playable",
        translation_placeholders={"media_id": (item.identifier or "")[:100]},
    )


def _browse_error(item: MediaSourceItem) -> BrowseError:
    return BrowseError(
        translation_domain=DOMAIN,
        translation_key="not_in_library",
        translation_placeholders={"media_id": (item.identifier or "")[:100]},
    )

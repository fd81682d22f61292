"""The clip library as people browse it: local days, pages of clips, and titles read at a glance.

The store files clips by UTC day; people think in their own days. A local day is answered with
one range query over the store's in-memory index (at most two UTC days, found by bisection), so
a day of thousands of clips lists a page in about a millisecond and never touches the disk.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final

from homeassistant.core import HomeAssistant
from homeassistant.helpers.translation import async_get_translations
from homeassistant.util import dt as dt_util

from .const import DOMAIN
from .engine.clip_info import ClipInfo, ClipName
from .engine.clips import ClipStore
from .engine.model import ClipTrigger, Verdict
from .engine.motion_place import clip_area

PAGE_SIZE: Final = 100

# English texts, used when the translation cache lacks a key (the title keys of "common").
DEFAULT_TEXTS: Final[Mapping[str, str]] = {
    "removed_camera": "Removed camera {camera}",
    "today": "Today",
    "yesterday": "Yesterday",
    "day_title": "{day} ({count})",
    "page_title": "{day}: clips {first}-{last} of {total}",
    "older_clips": "Older clips: {first}-{last} of {total}",
    "clip_motion": "{time} · {duration} · motion {motion} %",
    "clip_manual": "{time} · {duration} · recorded on request",
    "clip_kept": "{title} · kept",
    "clip_where": "{title} · {where}",
    "area_upper_left": "upper left",
    "area_top": "top",
    "area_upper_right": "upper right",
    "area_left": "left",
    "area_centre": "centre",
    "area_right": "right",
    "area_lower_left": "lower left",
    "area_bottom": "bottom",
    "area_lower_right": "lower right",
    "area_whole_picture": "whole picture",
    "clip_false_alarm": "{title} · marked as a false alarm",
    "clip_correct": "{title} · marked as correct",
}


@dataclass(frozen=True, slots=True)
class Texts:
    """Translated templates for titles, falling back to English per key."""

    templates: Mapping[str, str]

    def format(self, key: str, **values: object) -> str:
        """Fill the template of key; a broken translation falls back to English."""
        template = self.templates.get(key) or DEFAULT_TEXTS[key]
        try:
            return template.format(**values)
        except KeyError, IndexError, ValueError:
            return DEFAULT_TEXTS[key].format(**values)


async def async_texts(hass: HomeAssistant) -> Texts:
    """Templates of the `common` strings in the user's language, keyed by short name."""
    prefix = f"component.{DOMAIN}.common."
    translations = await async_get_translations(hass, hass.config.language, "common", [DOMAIN])
    return Texts(
        {k.removeprefix(prefix): v for k, v in translations.items() if k.startswith(prefix)}
    )


@dataclass(frozen=True, slots=True)
class DayPage:
    """One page of a local day's clips, newest first."""

    clips: list[ClipInfo]
    total: int
    first: int  # 1-based position of the first clip of the page in the day

    @property
    def last(self) -> int:
        """1-based position of the last clip of the page."""
        return self.first + len(self.clips) - 1


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """Start of a local day and of the next, as aware datetimes (DST days are 23 or 25 h)."""
    return dt_util.start_of_local_day(day), dt_util.start_of_local_day(day + timedelta(days=1))


def local_days(store: ClipStore, camera_key: str) -> list[date]:
    """Local days with clips of a camera, newest first (two index lookups per UTC day)."""
    days: set[date] = set()
    for utc_day in store.days(camera_key):
        count = store.count(camera_key, utc_day)
        newest = store.clips(camera_key, utc_day, 0, 1)
        oldest = store.clips(camera_key, utc_day, max(0, count - 1), 1)
        if not newest or not oldest:
            continue  # emptied since days() answered
        # Local dates grow with time, so the dates in between have clips too.
        day, last = _local_date(oldest[0]), _local_date(newest[0])
        while day <= last:
            days.add(day)
            day += timedelta(days=1)
    return sorted(days, reverse=True)


def day_page(store: ClipStore, camera_key: str, day: date, page: int) -> DayPage:
    """Return page `page` (1 is the newest) of a camera's clips of a local day."""
    start, end = day_bounds(day)
    offset = (page - 1) * PAGE_SIZE
    clips = store.clips_between(camera_key, start, end, offset, PAGE_SIZE)
    return DayPage(clips, store.count_between(camera_key, start, end), offset + 1)


def newest_of_day(store: ClipStore, camera_key: str, day: date) -> tuple[ClipInfo | None, int]:
    """Return the newest clip of a local day and the day's number of clips."""
    start, end = day_bounds(day)
    newest = store.clips_between(camera_key, start, end, 0, 1)
    return (newest[0] if newest else None), store.count_between(camera_key, start, end)


def latest_clips(store: ClipStore, camera_key: str, limit: int) -> list[ClipInfo]:
    """Return a camera's newest clips, at most limit, newest first."""
    clips: list[ClipInfo] = []
    for day in store.days(camera_key):
        if len(clips) >= limit:
            break
        clips += store.clips(camera_key, day, 0, limit - len(clips))
    return clips


def newest_clip(store: ClipStore, camera_key: str) -> ClipInfo | None:
    """Return the newest clip of a camera, if any."""
    days = store.days(camera_key)
    clips = store.clips(camera_key, days[0], 0, 1) if days else []
    return clips[0] if clips else None


def day_label(texts: Texts, day: date, today: date) -> str:
    """Today, Yesterday, or the date (ISO 8601: unambiguous in every language)."""
    if day == today:
        return texts.format("today")
    if day == today - timedelta(days=1):
        return texts.format("yesterday")
    return day.isoformat()


def clip_title(texts: Texts, clip: ClipInfo) -> str:
    """E.g. `14:32:05 · 42 s · motion 3.2 % · lower left`, in local time.

    Where the motion began follows when it is known; kept and marked clips say so.
    """
    values = {
        "time": dt_util.as_local(clip.start).strftime("%H:%M:%S"),
        "duration": format_duration(clip.duration_s),
        "motion": format_percent(clip.peak_score * 100),
    }
    key = "clip_manual" if clip.trigger is ClipTrigger.MANUAL else "clip_motion"
    title = texts.format(key, **values)
    if (area := clip_area(clip)) is not None:
        title = texts.format("clip_where", title=title, where=texts.format(f"area_{area}"))
    if clip.kept:
        title = texts.format("clip_kept", title=title)
    if clip.verdict is not None:
        title = texts.format(_VERDICT_TEXTS[clip.verdict], title=title)
    return title


_VERDICT_TEXTS: Final = {
    Verdict.FALSE_ALARM: "clip_false_alarm",
    Verdict.CORRECT: "clip_correct",
}


def format_duration(seconds: float) -> str:
    """`42 s` under a minute, else `m:ss` (`1:05`), `h:mm:ss` past an hour."""
    total = round(seconds)
    if total < 60:
        return f"{total} s"
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_percent(value: float) -> str:
    """Two significant digits for small values, fewer decimals for large ones."""
    if value >= 10:
        return f"{value:.0f}"
    if value >= 1:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _local_date(clip: ClipInfo) -> date:
    """Local date of the second the clip id names (what the range queries count by)."""
    return dt_util.as_local(ClipName.parse(clip.clip_id).start).date()

"""The tuner replays real clips of a flapping flag and of walkers through the real detector."""

from pathlib import Path

import pytest

from custom_components.hearthcam.engine.errors import StopRequestedError
from custom_components.hearthcam.engine.motion import MotionDetector, MotionSettings
from custom_components.hearthcam.engine.motion_place import area_of
from custom_components.hearthcam.engine.regions import Regions
from custom_components.hearthcam.engine.scan import scan_video, scan_video_with
from custom_components.hearthcam.engine.tuner import (
    Candidate,
    ReplayClip,
    candidates,
    rectangle,
    replay,
)
from devkit.feedback_scenes import FeedbackClip, day_clips, render_clip


@pytest.fixture(scope="module")
def flag_days(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[FeedbackClip, Path]]:
    """One day of a camera watching a flag: three gusts, two people walking by."""
    directory = tmp_path_factory.mktemp("feedback")
    return [(clip, render_clip(clip, directory)) for clip in day_clips("flag", 0, 3, 2)]


def _replay_clips(days: list[tuple[FeedbackClip, Path]]) -> list[ReplayClip]:
    return [ReplayClip(f"c{n}", path, not clip.walker) for n, (clip, path) in enumerate(days)]


def test_lockstep_scan_reports_what_single_scans_report(
    flag_days: list[tuple[FeedbackClip, Path]],
) -> None:
    """Several detectors over one decode see exactly what one scan each sees."""
    path = flag_days[0][1]
    quiet = MotionSettings.for_sensitivity(1)
    both = scan_video_with(path, (MotionDetector(), MotionDetector(quiet)))
    alone = (scan_video(path), scan_video(path, detector=MotionDetector(quiet)))
    assert [r.events for r in both] == [r.events for r in alone]
    assert both[0].analysed_frames == alone[0].analysed_frames == 60


def test_scan_stops_when_asked(flag_days: list[tuple[FeedbackClip, Path]]) -> None:
    """A replay asked to stop raises at the next packet."""
    with pytest.raises(StopRequestedError):
        scan_video_with(flag_days[0][1], (MotionDetector(),), should_stop=lambda: True)


def test_ignored_area_is_not_analysed_but_masks_and_zones_still_apply() -> None:
    """An ignored rectangle leaves the analysed map; without any region every pixel counts."""
    assert Regions().analysed(10, 10) is None
    ignored = Regions(ignored=(rectangle((0.5, 0.0, 1.0, 0.5)),)).analysed(10, 10)
    assert ignored is not None
    assert not ignored[:5, 5:].any()
    assert ignored[5:, :].all()
    assert ignored[:5, :5].all()


def test_tuner_proposes_to_ignore_the_flag_and_keeps_the_walkers(
    flag_days: list[tuple[FeedbackClip, Path]],
) -> None:
    """Every gust is avoided by ignoring the upper right; both walkers still fire."""
    report = replay(_replay_clips(flag_days), MotionSettings(), 5)
    suggestion = report.suggestion
    assert suggestion is not None, report.outcomes
    assert suggestion.ignore_zone is not None
    assert area_of(suggestion.ignore_zone) == "upper_right"
    assert suggestion.area == "upper_right"
    assert (suggestion.flagged, suggestion.reproduced, suggestion.avoided) == (3, 3, 3)
    assert (suggestion.others, suggestion.kept) == (2, 2)
    assert suggestion.sensitivity == 5  # the zone alone does it: sensitivity stays
    assert report.clips == 5
    assert report.analysed_frames == 2 * 5 * 60  # boxes learnt in one pass, candidates in one
    assert report.cpu_s > 0
    # Applied, the suggestion avoids the gusts on the clips themselves.
    tuned = Candidate(suggestion.ignore_zone, suggestion.sensitivity).settings(MotionSettings())
    for clip, path in flag_days:
        fired = bool(scan_video(path, detector=MotionDetector(tuned)).events)
        assert fired == clip.walker


def test_no_suggestion_that_would_lose_a_walker(
    flag_days: list[tuple[FeedbackClip, Path]],
) -> None:
    """Flag the walkers as false alarms too: no candidate keeps the others, so none is made."""
    clips = [ReplayClip(f"c{n}", path, True) for n, (_, path) in enumerate(flag_days[3:])]
    clips.append(ReplayClip("gust", flag_days[0][1], False))
    report = replay(clips, MotionSettings(), 5)
    assert report.suggestion is None
    assert any(outcome.avoided for outcome in report.outcomes)


def test_candidates_come_from_the_flagged_boxes() -> None:
    """Zones where the flagged clips began, lower sensitivities, and the two together."""
    clips = [
        ReplayClip("a", Path("a"), True, ((0.8, 0.1, 0.9, 0.2), (0.78, 0.1, 0.92, 0.25))),
        ReplayClip("b", Path("b"), True, ((0.82, 0.1, 0.9, 0.22),)),
        ReplayClip("c", Path("c"), False, ((0.1, 0.5, 0.3, 0.9),)),
    ]
    found = candidates(clips, 3)
    zones = [c.ignore for c in found if c.ignore is not None]
    assert zones
    assert all(area_of(zone) == "upper_right" for zone in zones)
    assert [c.sensitivity for c in found if c.ignore is None] == [2, 1]
    assert Candidate(zones[0], 2) in found

"""The demo camera's footage: a quiet yard that someone walks across at regular intervals."""

from pathlib import Path

from devkit.footage import MovingObject, Scene, footage_path


def walk_scene(duration_s: float, first_walk_s: float, every_s: float, fps: int = 10) -> Scene:
    """Make a scene where a person-sized figure crosses at first_walk_s, then every every_s."""
    walkers: list[MovingObject] = []
    start = first_walk_s
    index = 0
    while start + 6 <= duration_s:
        # Alternate directions so consecutive clips are told apart at a glance.
        left_to_right = index % 2 == 0
        xs = (-0.1, 1.1) if left_to_right else (1.1, -0.1)
        walkers.append(
            MovingObject(
                start_s=start,
                end_s=start + 6,
                start_xy=(xs[0], 0.62),
                end_xy=(xs[1], 0.62),
                size=(0.09, 0.45),
                color=(30, 60, 150),
            )
        )
        start += every_s
        index += 1
    return Scene(
        width=640,
        height=360,
        fps=fps,
        duration_s=duration_s,
        seed=8123,
        keyframe_interval_s=1.0,
        objects=tuple(walkers),
    )


def write_scene(scene: Scene, directory: Path) -> Path:
    """Encode the scene into directory as Matroska (cached by content), return the file."""
    return footage_path(scene, directory, ".mkv")

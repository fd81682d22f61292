"""One exception tree: every engine error lives in errors.py and derives from EngineError."""

import importlib
import inspect
from pathlib import Path
import pkgutil

from custom_components.hearthcam import engine
from custom_components.hearthcam.engine import errors
from custom_components.hearthcam.engine.errors import EngineError, InvalidInputError


def _exceptions_defined_in(module_name: str) -> list[type[BaseException]]:
    module = importlib.import_module(module_name)
    return [
        value
        for value in vars(module).values()
        if inspect.isclass(value)
        and issubclass(value, BaseException)
        and value.__module__ == module_name
    ]


def test_no_engine_module_defines_its_own_exceptions() -> None:
    """Outside errors.py the engine raises errors.py's classes (or the standard ones)."""
    own = {
        info.name: [
            cls.__name__ for cls in _exceptions_defined_in(f"{engine.__name__}.{info.name}")
        ]
        for info in pkgutil.iter_modules([str(Path(engine.__file__).parent)])
        if info.name != "errors"
    }
    assert {name: classes for name, classes in own.items() if classes} == {}


def test_every_error_derives_from_engine_error_and_bad_input_is_a_value_error() -> None:
    """Callers catch EngineError; bad input is also a ValueError, as Python code expects."""
    defined = _exceptions_defined_in(errors.__name__)
    assert len(defined) >= 14
    assert all(issubclass(cls, EngineError) for cls in defined)
    bad_input = {cls.__name__ for cls in defined if issubclass(cls, InvalidInputError)}
    assert bad_input == {
        "InvalidInputError",
        "InvalidStreamURLError",
        "InvalidPolygonError",
        "InvalidClipIdError",
        "InvalidExportIdError",
    }
    assert all(issubclass(cls, ValueError) for cls in defined if issubclass(cls, InvalidInputError))
    assert not any(issubclass(cls, ValueError) for cls in defined if cls.__name__ not in bad_input)

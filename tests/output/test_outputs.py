"""The outputs of a process: one per set of [output] settings, checked and prepared when first chosen."""

from __future__ import annotations

import dataclasses

import pytest

from dictate.config import OutputConfig
from dictate.errors import DeviceError
from dictate.output.common import Environ
from dictate.output.outputs import Outputs


@dataclasses.dataclass(eq=False)
class Recorded:
    name: str
    steps: list[str] = dataclasses.field(default_factory=list)

    def prepare(self) -> None:
        self.steps.append("prepare")

    def deliver(self, text: str) -> None:
        self.steps.append(f"deliver {text}")

    def close(self) -> None:
        self.steps.append("close")


def chooser(made: list[Recorded]):  # type: ignore[no-untyped-def]
    def choose(settings: OutputConfig, environ: Environ) -> tuple[Recorded, str]:
        made.append(Recorded(settings.method))
        return made[-1], "chosen for the test"

    return choose


def test_each_settings_get_one_output_checked_then_prepared() -> None:
    made: list[Recorded] = []
    checked: list[str] = []
    outputs = Outputs({}, chooser(made), check=lambda output: checked.append(output.name))
    first = Recorded("type")
    outputs.add(OutputConfig(method="type"), first, "the file's")  # chosen and checked by the caller
    assert outputs.get(OutputConfig(method="type")) == (first, "the file's")
    paste, _ = outputs.get(OutputConfig(method="paste"))
    assert outputs.get(OutputConfig(method="paste"))[0] is paste
    assert (made, checked) == ([paste], ["paste"])
    assert first.steps == ["prepare"] and paste.steps == ["prepare"]
    outputs.close()
    assert first.steps[-1] == "close" and paste.steps[-1] == "close"


def test_an_output_whose_display_is_not_there_is_closed_and_not_kept() -> None:
    made: list[Recorded] = []

    def no_display(output: Recorded) -> None:
        raise DeviceError("cannot open display :9", "run dictate inside your desktop session")

    outputs = Outputs({}, chooser(made), check=no_display)
    with pytest.raises(DeviceError, match="cannot open display"):
        outputs.get(OutputConfig(method="paste"))
    assert made[0].steps == ["close"]  # never prepared, and what it held is let go
    with pytest.raises(DeviceError):
        outputs.get(OutputConfig(method="paste"))  # asked again at the next dictation, not kept broken
    assert len(made) == 2

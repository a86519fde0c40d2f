"""The outputs a process uses: one for each set of [output] settings its dictations ask for (the
file's, and those of profiles), each chosen once, checked and prepared when chosen, and all closed
together."""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable

from dictate.config import OutputConfig
from dictate.output import Output, choose_output, close_output
from dictate.output.common import Environ

log = logging.getLogger("dictate")


class Outputs:
    def __init__(
        self,
        environ: Environ = os.environ,
        chooser: Callable[[OutputConfig, Environ], tuple[Output, str]] = choose_output,
        check: Callable[[Output], None] = lambda _output: None,
    ) -> None:
        self.environ = environ
        self.chooser = chooser
        self.check = check  # is what it needs there (the display): DictateError, one line, when not
        self._chosen: dict[str, tuple[Output, str]] = {}

    def add(self, settings: OutputConfig, output: Output, why: str) -> None:
        """Take an output already chosen (and checked) for these settings, and prepare it."""
        output.prepare()
        self._chosen[_ident(settings)] = (output, why)

    def get(self, settings: OutputConfig) -> tuple[Output, str]:
        """The output for these settings and why it was chosen; DictateError when there is none."""
        ident = _ident(settings)
        if ident not in self._chosen:
            output, why = self.chooser(settings, self.environ)
            try:
                self.check(output)
                output.prepare()
            except BaseException:
                close_output(output)
                raise
            self._chosen[ident] = (output, why)
            if len(self._chosen) > 1:
                log.debug("another output for a profile: %s (%s)", output.name, why)
        return self._chosen[ident]

    def close(self) -> None:
        for output, _why in self._chosen.values():
            close_output(output)
        self._chosen.clear()


def _ident(settings: OutputConfig) -> str:
    return repr(dataclasses.astuple(settings))

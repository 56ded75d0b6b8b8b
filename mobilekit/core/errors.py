"""Typed errors, each carrying its process exit code (mapped in one place: the CLI)."""
from __future__ import annotations

EXIT_OK = 0
EXIT_GATE_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_ENVIRONMENT = 3


class MobilekitError(Exception):
    exit_code = EXIT_BAD_INPUT


class ConfigError(MobilekitError):
    """Invalid configuration: names the file, the field path and what is accepted."""

    exit_code = EXIT_BAD_INPUT


class InputError(MobilekitError):
    """Bad files or arguments (missing model, malformed click, corrupt bundle)."""

    exit_code = EXIT_BAD_INPUT


class UntrustedModelError(InputError):
    """A model file asks for unsafe deserialization (Lambda layers, pickled objects)."""


class GateFailed(MobilekitError):
    """A parity or quality gate failed; `details` carries the machine-readable result."""

    exit_code = EXIT_GATE_FAILED

    def __init__(self, message: str, details: dict | None = None) -> None:
        super().__init__(message)
        self.details = details or {}


class UnsupportedOpsError(GateFailed):
    """The model contains ops no handler can convert."""


class EnvironmentProblem(MobilekitError):
    """A required toolchain piece is missing or broken."""

    exit_code = EXIT_ENVIRONMENT

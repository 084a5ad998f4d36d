"""The one exception type for bad input to the benchmark: it names the file or option and what is accepted."""

from advisor.constraints import FieldError


class BenchInputError(ValueError):
    """Bad input (dataset, option, archive). The CLI prints it and exits 2; the app shows it."""


class ConfigError(BenchInputError, FieldError):
    """A config field out of its declared range; front ends word the field (flag or widget label)."""


def unknown_name(kind: str, name: str, valid: list[str] | tuple[str, ...]) -> BenchInputError:
    return BenchInputError(f"unknown {kind} {name!r}; valid {kind}s are {', '.join(valid)}")

"""Rules of this clinical area (being written)."""

from service.rules._registry import Rule

RULES: tuple[Rule, ...] = ()

"""Card wording of this clinical area (being written)."""

from service.cards._wording import Wording
from service.findings import Topic

WORDING: dict[Topic, Wording] = {}

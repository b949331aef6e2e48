"""The election algorithms by name: the one place an algorithm is registered.

``NodeProtocol(algorithm=...)`` builds its elector from here, and the harness's
``--algorithm`` choices are these names. To add one: write its module in
``emulator/protocol/elections/`` (a subclass of ``ElectionProtocol``), import it
below and add it to ``ALGORITHMS`` (and its message types to the codec).
"""
from __future__ import annotations

from .election import Elector
from .elections.base import ElectionProtocol
from .elections.franklin import FranklinElector
from .elections.hs import HirschbergSinclairElector
from .elections.lelann import LeLannElector
from .elections.peterson import PetersonElector

DEFAULT_ALGORITHM = "cr"

ALGORITHMS: dict[str, type[ElectionProtocol]] = {
    "cr": Elector,
    "lelann": LeLannElector,
    "hs": HirschbergSinclairElector,
    "franklin": FranklinElector,
    "peterson": PetersonElector,
}

TITLES = {
    "cr": "Chang–Roberts (1979)",
    "lelann": "LeLann (1977)",
    "hs": "Hirschberg–Sinclair (1980)",
    "franklin": "Franklin (1982)",
    "peterson": "Peterson / Dolev–Klawe–Rodeh (1982)",
}


def elector(algorithm: str, node_id: int, announce: bool = True) -> ElectionProtocol:
    try:
        cls = ALGORITHMS[algorithm]
    except KeyError:
        raise ValueError(f"unknown election algorithm {algorithm!r}; choose from "
                         + ", ".join(ALGORITHMS)) from None
    return cls(node_id, announce)

"""PNG export through cairosvg (an optional extra: ``pip install 'ringemu[png]'``).

The SVG is drawn so that cairosvg keeps every label: halos are white copies under
the text, never ``paint-order``, which cairosvg ignores (it then paints the white
stroke over the letters)."""
from __future__ import annotations

INSTALL = "pip install 'ringemu[png]' (cairosvg, which needs the cairo library)"


def available() -> bool:
    """cairosvg is installed and finds the cairo library it binds to."""
    try:
        import cairosvg  # noqa: F401
    except (ImportError, OSError):   # OSError: libcairo itself is missing
        return False
    return True


def svg_to_png(svg: str) -> bytes:
    """The picture as PNG bytes, at the size the SVG asks for (its ``--scale``)."""
    import cairosvg
    return cairosvg.svg2png(bytestring=svg.encode("utf-8"))

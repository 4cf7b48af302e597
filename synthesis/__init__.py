"""Creative Admin's image and video engine.

A plain library: typed dataclasses and pure functions, no Django, no Celery, no global
state. Callers hand it everything a render depends on (fonts, assets, seed), so the same
inputs always give the same pixels. `python -m synthesis --help` is its command line.
"""

# Raised whenever the same inputs give different pixels (a cut-out, layout or render change): stored
# signed renders are keyed by it and each creative's provenance records it, so an upgrade renders anew
# instead of serving the previous engine's pictures. 0.2.0: scene covers, label bands, shadow outlines.
__version__ = "0.2.0"

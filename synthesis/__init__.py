"""Creative Admin's image and video engine.

A plain library: typed dataclasses and pure functions, no Django, no Celery, no global
state. Callers hand it everything a render depends on (fonts, assets, seed), so the same
inputs always give the same pixels. `python -m synthesis --help` is its command line.
"""

__version__ = "0.1.0"

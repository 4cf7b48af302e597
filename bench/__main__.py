"""Run every benchmark: `python -m bench` (or `make bench`)."""

from . import engine, theme_colour, video

if __name__ == "__main__":
    theme_colour.main()
    print()
    engine.main()
    print()
    video.main()
    print()
    # Imported last: it configures Django with a throwaway database.
    from . import signed_render

    signed_render.main()

"""Run every benchmark: `python -m bench` (or `make bench`)."""

from . import cutout, engine, theme_colour, video

if __name__ == "__main__":
    theme_colour.main([])
    print()
    cutout.main([])
    print()
    engine.main()
    print()
    video.main()
    print()
    # Imported last, one at a time: each configures Django with a throwaway database.
    from . import signed_render

    signed_render.main()
    print()
    import subprocess
    import sys

    for name in ("bench.campaign", "bench.serving", "bench.ingestion", "bench.generation", "bench.dashboard"):
        subprocess.run([sys.executable, "-m", name], check=True)
        print()

"""Demo app: `manage.py seed_demo`, the one command that fills a fresh install with a demo."""

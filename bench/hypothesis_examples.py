"""A pytest plugin for `bench.production`: how many inputs hypothesis ran in each test, in the junit XML.

`pytest -p bench.hypothesis_examples --junitxml=...` adds a `hypothesis_examples` property to every
test case that ran hypothesis, including a `@given` function defined and called inside the test (as the
API fuzz test does, which `--hypothesis-show-statistics` does not report). Counted: the examples that
ran to a verdict, passing or failing, in every phase; not the draws a filter threw away before they ran.
"""

import pytest
from hypothesis.statistics import collector


@pytest.hookimpl(hookwrapper=True, trylast=True)  # the innermost wrapper: its collector is the one in force
def pytest_runtest_call(item):
    outer = collector.value
    examples = []

    def note(stats: dict) -> None:
        for key, phase in stats.items():
            if key.endswith("-phase") and isinstance(phase, dict):
                examples.extend(t for t in phase.get("test-cases", []) if t["status"] in ("valid", "interesting"))
        if outer is not None:
            outer(stats)  # hypothesis's own plugin (--hypothesis-show-statistics) still gets them

    with collector.with_value(note):
        yield
    if examples:
        item.user_properties.append(("hypothesis_examples", len(examples)))

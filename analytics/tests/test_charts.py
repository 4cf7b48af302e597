"""The dashboard's figures as the page receives them: Plotly JSON that dashboard.js draws."""

import json
import re
from datetime import date

import plotly.io as pio

from analytics import charts
from analytics.selectors import RateRow


def _figure(chart: str) -> dict:
    block = re.search(r'<script id="[^"]+" type="application/json">(.*?)</script>', chart, re.S)
    assert block, chart[:200]
    return json.loads(block.group(1))


def test_a_figure_carries_the_plotly_white_look_and_its_own_layout():
    """The template is attached as JSON when the figure is written out (not validated per figure):
    plotly.js must still get plotly_white whole, with the figure's own height, margins and title."""
    row = RateRow(label="hero", impressions=1000, clicks=25, conversions=2, impressions_gross=1000, clicks_gross=25)
    series = {"hero": [(date(2026, 12, 1), row), (date(2026, 12, 2), row)]}

    figure = _figure(charts.rate_chart(series, rate="ctr", title="CTR per template", div_id="ctr"))

    assert figure["layout"]["template"] == pio.templates["plotly_white"].to_plotly_json()
    assert figure["layout"]["height"] == 360
    assert figure["layout"]["title"]["text"] == "CTR per template"
    assert figure["data"][0]["y"] == [2.5, 2.5]  # percent

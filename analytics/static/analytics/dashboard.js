// Draws the dashboard's Plotly figures from their JSON blocks (the page has no inline script: see
// the Content-Security-Policy). Each chart is <div class="plotly-chart" data-figure="ID"> followed by
// <script type="application/json" id="ID"> holding {data, layout}, as plotly.py writes a figure.
"use strict";

document.querySelectorAll(".plotly-chart[data-figure]").forEach((div) => {
  const figure = JSON.parse(document.getElementById(div.dataset.figure).textContent);
  window.Plotly.newPlot(div, figure.data, figure.layout, { responsive: true });
});

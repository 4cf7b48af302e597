"""Analytics app: event tracking, rollups and the dashboards analysts read."""

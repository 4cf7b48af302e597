"""Campaigns app: products, and (later) campaigns, placements and creatives."""

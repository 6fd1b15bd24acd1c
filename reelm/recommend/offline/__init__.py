"""Offline evaluation of the recommender: the published TikTok (ICME 2019) protocol, its baselines and
tuning, run by `reelm bench recs`. Nothing on the serving path imports this package (a lint contract)."""

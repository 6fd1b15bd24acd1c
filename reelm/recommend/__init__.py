"""Recommendation models and their offline evaluation.

`item_similarity.ItemSimilarityModel` is the engine's retrieval model; `protocol` evaluates any recommender
under the published TikTok (ICME 2019) protocol, and `bench_cli` is `reelm bench recs`.
"""

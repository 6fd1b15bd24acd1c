"""What viewers do with videos (impressions, watch time, likes, skips ...), reported in batches."""

"""Content review: PDQ hashes of video keyframes matched against each realm's lists of known hashes.

`pdq` hashes images, `keyframes` picks and hashes a video's frames, `hash_lists` imports list files in
ThreatExchange's formats, and `hash_index` finds list entries near a video's hashes and the action they call
for (hold for review, or block).
"""

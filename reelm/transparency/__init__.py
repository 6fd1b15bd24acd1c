"""The transparency log's cryptographic core: Merkle trees, tiles, signed notes, checkpoints, witnessing.

Modules: `merkle` (RFC 6962 hashing and proofs), `tiles` (C2SP tlog-tiles), `note` (C2SP signed-note and
tlog-cosignature), `checkpoint` (C2SP tlog-checkpoint) and `witness` (C2SP tlog-witness).
"""

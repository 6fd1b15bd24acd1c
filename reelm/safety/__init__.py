"""What people do to keep others away: blocks (and, as they come, mutes and filters).

Below messages, notifications and the recommender, which all respect a block, so that each reads it here
rather than from one another.
"""

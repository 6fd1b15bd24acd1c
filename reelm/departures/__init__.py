"""An account leaving its realm: purged when its deletion's grace period ends, or moved to another realm.

Both touch every domain that holds rows naming the account (videos, social, messages, notifications,
blocks, keys), so they sit above those domains rather than inside `accounts`, which they all build on.
"""

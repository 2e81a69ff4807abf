"""Reward models behind the ``ImageReward`` / ``VideoReward`` protocols, loaded from local files."""

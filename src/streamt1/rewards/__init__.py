"""Reward models behind the ImageReward / VideoReward protocols, loaded from their released files."""

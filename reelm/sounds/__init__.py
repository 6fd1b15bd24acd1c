"""Sounds: the audio of videos, reused by others."""

"""Rasa input/output channels: the web (REST, socket.io) and social platforms.

This package does not import ``bot/``: channels only move messages.
"""

"""Rasa NLU components (loaded by the Rasa server from ``bot/config.yml``)."""

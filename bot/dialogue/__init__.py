"""The dialogue's decisions and words, no Rasa or Sanic imports: ``turn.py`` decides what the
bot does with a turn (composing ``indexer.decide`` and ``followup.py``), ``texts.py`` says it."""

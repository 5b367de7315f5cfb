"""Personal data over its life (issue #18 items 3 and 4): how long each kind is kept
(``retention.py``, run on a schedule by one server at a time: ``schedule.py``, under a
lease in the database: ``bot/handoff/lease.py``) and what a person may ask for, a copy of everything
stored about them or its deletion (``subject.py``). ``stores.py`` names every table that
holds a conversation's data, and where Rasa keeps the conversations.

Like ``bot/handoff/``, nothing here imports Rasa, Sanic or the channels: the command
line runs it without starting a server.
"""

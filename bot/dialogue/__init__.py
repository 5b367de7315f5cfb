"""The conversation policy: what the bot does with a turn, and the texts it says. No Rasa or Sanic imports."""

"""The agent console: a web page and its JSON/SSE API, served by the Rasa server."""

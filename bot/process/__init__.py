"""Process management run by ``faqbot``: training the Rasa model, starting and supervising both servers."""

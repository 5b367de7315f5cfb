"""FAQ content → search index, and queries against it.

Imports run one way: this package may import ``faqbot.config`` but never
``bot`` or ``connectors``.
"""

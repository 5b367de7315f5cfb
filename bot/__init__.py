"""The Rasa 3.6 project (config, domain, NLU data, rules) and its custom actions."""

"""Hand-off and records domain with its persistence (hand-offs, tickets, agents, records, KPIs).

No Sanic or Rasa imports (an import contract checks it): the action server, the Rasa server and the
CLI all use these stores.
"""

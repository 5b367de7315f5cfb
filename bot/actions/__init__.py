"""Custom actions served by the rasa-sdk action server (``python -m rasa_sdk --actions bot.actions``).

rasa-sdk imports every module of this package and registers each ``Action`` subclass.
"""

from bot.actions import runtime as _runtime

_runtime.warm_up()

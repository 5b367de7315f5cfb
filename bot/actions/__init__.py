"""Custom actions served by the rasa-sdk action server (``python -m rasa_sdk --actions bot.actions``).

rasa-sdk imports every module of this package and registers each ``Action`` subclass.
"""

from bot.actions import runtime as _runtime
from faqbot.masking import install_log_masking, masker_for

install_log_masking(masker_for(_runtime.settings().masking))  # personal data out of the log
_runtime.warm_up()

"""``python -m bot.server.app run …``: Rasa's own CLI with the hand-off layer
installed and one fix applied.

The hand-off layer: the gate that keeps the bot silent while a person owns a
conversation (``bot/server/gate.py``) is installed for every channel, and the
agent console (``bot/console/``) is mounted on the same Sanic app, because
agent replies to web-widget users must go out through the socket.io server
that holds their connections. The HTTP policy (CORS per kind of route, the
console's cross-site request check, security headers, no version banner) is
``bot/web/``, installed on the same app instead of Rasa's ``--cors``.

The fixes:
Rasa 3.6 validates every action-server response with ``jsonschema.validate``,
which re-checks the (large) schema itself on every call: ~10 ms of CPU per
custom action on this machine, about 40 % of the server's time per message.
Here the validators are built once, and each event is checked against its
own branch of Rasa's ``oneOf`` of 23 event types; the schema, the checks and
the error message are Rasa's own. A button payload (``/choose_faq{…}``) is read by
Rasa's own payload parser without running the NLU graph (which would only be
overridden by it). The conversation store is Rasa's SQL store with a
checked cache (``bot/server/tracker_store.py``). A message waiting for the
conversation lock of a server that died mid-turn is served once that lock lapses
(``_lock_waiters_never_starve``). Everything else is ``rasa``
unchanged.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any


@functools.lru_cache(maxsize=1)
def _action_result_validator() -> Any:
    import jsonschema
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


@functools.lru_cache(maxsize=1)
def _event_validators() -> dict[str, Any]:
    """One validator per event type: Rasa's event schema is a ``oneOf`` of 23
    branches told apart by ``event``'s constant, so an event is valid exactly
    when it is valid under the common part plus its own branch. Checking that
    one branch instead of all 23 is most of the validation's cost."""
    import jsonschema
    from rasa.shared.utils.schemas.events import EVENT_SCHEMA

    common = {key: value for key, value in EVENT_SCHEMA.items() if key != "oneOf"}
    validators = {}
    for branch in EVENT_SCHEMA["oneOf"]:
        schema = {**common, "allOf": [branch]}
        validators[branch["properties"]["event"]["const"]] = jsonschema.validators.validator_for(schema)(schema)
    return validators


def _plainly_valid(result: Any) -> bool:
    """``result`` passes Rasa's action-response schema, checked branch by branch
    (``_event_validators``); ``False`` sends it to the full check for Rasa's error."""
    if not isinstance(result, dict):
        return False
    events, responses = result.get("events", []), result.get("responses", [])
    if not isinstance(events, list) or not isinstance(responses, list):
        return False
    if not all(isinstance(response, dict) for response in responses):
        return False
    validators = _event_validators()
    for event in events:
        kind = event.get("event") if isinstance(event, dict) else None
        validator = validators.get(kind) if isinstance(kind, str) else None
        if validator is None or not validator.is_valid(event):
            return False
    return True


def _validate_action_result(self: Any, result: dict[str, Any]) -> bool:
    from jsonschema import ValidationError, exceptions
    from rasa.shared.constants import DOCS_BASE_URL

    if _plainly_valid(result):
        return True
    error = exceptions.best_match(_action_result_validator().iter_errors(result))
    if error is None:
        return True
    assert isinstance(error, ValidationError)
    error.message += (
        ". Failed to validate Action server response from API, make sure your response "
        f"from the Action endpoint is valid. For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


def _store_errors_are_not_fatal() -> None:
    """Rasa's ``SQLTrackerStore.session_scope`` turns *every* ValueError raised
    while a session is open into ``sys.exit(1)`` (meant for a missing
    PostgreSQL schema). A UnicodeEncodeError from one request's data is a
    ValueError too, so one request stopped the server. Here only the schema
    check itself exits, as Rasa intends; any other error fails that one
    request (the channel guard apologises) and the server keeps serving."""
    import contextlib

    import rasa.shared.utils.cli
    from rasa.core import tracker_store

    @contextlib.contextmanager
    def session_scope(self: Any) -> Any:
        session = self.sessionmaker()
        try:
            try:
                tracker_store.ensure_schema_exists(session)
            except ValueError as exc:
                rasa.shared.utils.cli.print_error_and_exit(
                    f"Requested PostgreSQL schema '{exc}' was not found in the database. Exiting application."
                )
            yield session
        finally:
            session.close()

    tracker_store.SQLTrackerStore.session_scope = session_scope


def _lock_waiters_never_starve() -> None:
    """Rasa 3.6's conversation lock serves the ticket whose number is the lowest left.
    A message waiting behind a server that died mid-turn waits for that server's
    ticket to expire (``[bot] lock_lifetime``); when its own ticket, issued a moment
    later, has expired too by the next check, no ticket is left, nothing equals the
    lowest, and it waits until Sanic gives up (503 after 60 s). Here a ticket is
    served once no earlier live ticket is ahead of it: the same order, no starvation."""
    from rasa.core.lock import TicketLock

    TicketLock.is_locked = _ticket_is_locked


def _ticket_is_locked(self: Any, ticket_number: int) -> bool:
    """``TicketLock.is_locked``: an earlier ticket that has not expired is still ahead."""
    return any(t.number < ticket_number and not t.has_expired() for t in self.tickets)


def _bound_action_time() -> None:
    """A hung action server (SIGSTOP, a deadlock) kept customers waiting for
    Rasa's 300 s action timeout and then gave them nothing. ``[bot]
    action_timeout`` bounds it; the timeout fails the turn and the channel
    guard sends the apology.

    ``RemoteAction.run`` passes the module's ``DEFAULT_REQUEST_TIMEOUT`` to
    aiohttp as the request's total timeout; when it runs out aiohttp raises a
    bare ``asyncio.TimeoutError``, which Rasa's processor logs as an unnamed
    exception and swallows (no events, no reply). Here it becomes a
    ``RasaException`` that says what happened; the processor still swallows
    it, so the turn ends without a reply and the guard apologises."""
    from rasa.core.actions import action
    from rasa.shared.exceptions import RasaException

    from faqbot.config import load_settings

    seconds = load_settings().bot.action_timeout
    action.DEFAULT_REQUEST_TIMEOUT = seconds
    run = getattr(action.RemoteAction.run, "__wrapped__", action.RemoteAction.run)  # apply() may run twice

    @functools.wraps(run)
    async def bounded_run(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return await run(self, *args, **kwargs)
        except TimeoutError:  # asyncio.TimeoutError is this one since Python 3.11
            raise RasaException(
                f"the action server did not answer '{self.name()}' within {seconds:g} s "
                "([bot] action_timeout): is it hung or overloaded?"
            ) from None

    action.RemoteAction.run = bounded_run


def parse_payload(domain: Any, message: Any, only_output_properties: bool = True) -> dict[str, Any] | None:
    """A button payload (``/choose_faq{…}``) read by Rasa's own payload parser, as
    its ``RegexMessageHandler`` reads it at the end of the NLU graph; ``None`` for
    plain text and for a payload whose intent ``domain`` does not know (those
    take the graph, as before)."""
    from rasa.nlu.classifiers.regex_message_handler import RegexMessageHandler
    from rasa.shared.constants import INTENT_MESSAGE_PREFIX
    from rasa.shared.core.training_data.story_reader.yaml_story_reader import YAMLStoryReader
    from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_NAME_KEY, PREDICTED_CONFIDENCE_KEY, TEXT
    from rasa.shared.nlu.training_data.message import Message

    text = message.text or ""
    if not text.startswith(INTENT_MESSAGE_PREFIX):
        return None
    data = {TEXT: text, "message_id": message.message_id, "metadata": message.metadata}
    unpacked = YAMLStoryReader.unpack_regex_message(
        Message(data=data), domain, entity_extractor_name=RegexMessageHandler.__name__
    )
    if not (unpacked.get(INTENT) or {}).get(INTENT_NAME_KEY):
        return None
    empty = {INTENT_NAME_KEY: None, PREDICTED_CONFIDENCE_KEY: 0.0}
    parse_data: dict[str, Any] = {TEXT: "", INTENT: empty, ENTITIES: []}
    parse_data.update(unpacked.as_dict(only_output_properties=only_output_properties))
    return parse_data


def _payloads_skip_nlu() -> None:
    """Rasa 3.6 runs the whole NLU graph (tokeniser, featurisers, DIET, guard)
    on a button payload, and at the end its ``RegexMessageHandler`` replaces
    every prediction with the payload's intent and entities. Here a payload
    goes straight to that same parser (``parse_payload``): the parse data is
    the same, the CPU is not spent."""
    from rasa.core.processor import MessageProcessor

    parse_with_graph = getattr(
        MessageProcessor._parse_message_with_graph, "__wrapped__", MessageProcessor._parse_message_with_graph
    )

    @functools.wraps(parse_with_graph)
    def parse(self: Any, message: Any, tracker: Any, only_output_properties: bool = True) -> dict[str, Any]:
        parsed = parse_payload(self.domain, message, only_output_properties)
        return parsed if parsed is not None else parse_with_graph(self, message, tracker, only_output_properties)

    MessageProcessor._parse_message_with_graph = parse


DRAIN_SECONDS = 8.0


def install_handoff_layer() -> None:
    import rasa.core.run

    from bot.console.app import console_blueprint
    from bot.console.kb_lookup import KbLookup
    from bot.handoff.desk import HandoffDesk
    from bot.handoff.pulse import PulseBridge
    from bot.privacy.schedule import run_scheduled
    from bot.server.customer_routes import customer_blueprint
    from bot.server.gate import HandoffGate
    from bot.server.health import health_blueprint
    from bot.server.widget import webchat_blueprint
    from bot.web import install as install_http_policy
    from bot.web import rasa_defaults
    from connectors import background, gate
    from connectors.outbound import Outbounds
    from faqbot.config import load_settings
    from indexer.shared_index import this_node

    settings = load_settings()
    action_url = f"http://{settings.bot.host}:{settings.bot.action_port}"
    outbounds = Outbounds()  # filled from the mounted channels once the app exists
    desk = HandoffDesk(settings, outbound=outbounds.get)  # each channel's push side, by channel name
    rasa_defaults.replace()  # no blanket CORS, no version banner: bot/web/ is the HTTP policy
    configure_app = rasa.core.run.configure_app

    @functools.wraps(configure_app)
    def with_console(*args: Any, **kwargs: Any) -> Any:
        app = configure_app(*args, **kwargs)
        outbounds.attach(app)
        kb = KbLookup(settings)
        gate.install(app, HandoffGate(desk, kb.sensitive))
        app.blueprint(console_blueprint(desk, kb))
        app.blueprint(customer_blueprint(desk))
        app.blueprint(webchat_blueprint())
        app.blueprint(health_blueprint(desk, this_node(settings), f"{action_url}/health"))
        install_http_policy(app, settings)

        watchers: list[asyncio.Task] = []
        bridges: list[tuple[PulseBridge, asyncio.Task]] = []

        @app.listener("after_server_start")
        async def watch_for_stranded_users(app: Any, _: Any) -> None:
            watchers.append(asyncio.ensure_future(desk.watch_stranded()))
            watchers.append(asyncio.ensure_future(run_scheduled(settings)))  # one server purges (a lease)
            if settings.channels.socketio_url:  # several servers: the consoles' live feeds wake on each one's events
                bridge = PulseBridge(desk.pulse, settings.channels.socketio_url)
                bridges.append((bridge, asyncio.ensure_future(bridge.listen())))

        @app.listener("before_server_stop")
        async def finish_acknowledged_work(app: Any, _: Any) -> None:
            for watcher in watchers:
                watcher.cancel()
            for bridge, listening in bridges:
                listening.cancel()
                await asyncio.gather(listening, return_exceptions=True)  # unsubscribed before the client closes
                await bridge.close()
            await background.drain(DRAIN_SECONDS)  # within the runner's 10 s before SIGKILL

        return app

    rasa.core.run.configure_app = with_console


def _mount_configured_channels() -> None:
    """Channels whose secrets are unset are not mounted (``connectors/mounting.py``)."""
    import logging

    import rasa.core.run
    import rasa.shared.utils.io

    from connectors.mounting import missing_env, summary

    def create_http_input_channels(channel: str | None, credentials_file: str | None) -> list[Any]:
        if channel or not credentials_file:  # --connector picks one explicitly: Rasa's behaviour
            return original(channel, credentials_file)
        from rasa.shared.utils.common import class_from_module_path

        kept, skipped = [], {}
        for path, credentials in (rasa.shared.utils.io.read_config_file(credentials_file) or {}).items():
            cls = class_from_module_path(path) if "." in path else None
            missing = missing_env(cls) if cls is not None else []
            if missing and cls is not None:
                skipped[cls.name()] = missing
            else:
                kept.append(rasa.core.run._create_single_channel(path, credentials))
        if skipped:  # `faqbot run` already printed this line before starting the server
            logging.getLogger("connectors").debug(summary(skipped))
        return kept

    original = rasa.core.run.create_http_input_channels
    rasa.core.run.create_http_input_channels = create_http_input_channels


def apply() -> None:
    from rasa.core.actions.action import RemoteAction

    RemoteAction._validate_action_result = _validate_action_result
    _store_errors_are_not_fatal()
    _bound_action_time()
    _lock_waiters_never_starve()
    _payloads_skip_nlu()
    _mount_configured_channels()


def _mask_logs() -> None:
    """Personal data out of this server's log (``faqbot/masking.py``), Rasa's records included."""
    from faqbot.config import load_settings
    from faqbot.masking import install_log_masking, masker_for

    # Rasa logs each message again as the NLU read it (normalised: an e-mail address loses its
    # "@" and "."), which no masking can recognise: that field is left out.
    install_log_masking(masker_for(load_settings().masking), omit_fields=("parse_data_text",))


def main() -> None:
    _mask_logs()
    apply()
    install_handoff_layer()
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()

"""Roles and groups (技能组) of agents, and where each hand-off is routed.

- A role: ``admin`` (manages accounts, groups and the team's canned replies in
  the console's 管理 tab, and uses the studio), ``editor`` (the editors' studio,
  the 知识库 tab, besides everything an agent does) or ``agent``. The first
  account created is an admin, so a new installation can be set up from the console.
- A group: agents with a skill (售后组, 英文服务), and the rules that route a
  hand-off to it: FAQ categories (the category of the answer the customer
  needed a person for) and channels. A category rule wins over a channel rule.
- A route: the group a hand-off waits for. Only its members (and admins)
  claim it; a hand-off no rule matches, or whose group has nobody available
  when it is created, waits for everyone.

Kept in their own tables (``agent_roles``, ``agent_groups``, ``agent_group_members``,
``handoff_routes``) so an existing database needs no migration.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from bot.handoff.db import Database
from bot.handoff.db import now as _now

ADMIN, AGENT, EDITOR = "admin", "agent", "editor"
ROLES = (ADMIN, AGENT, EDITOR)
# Who uses the editors' studio (the 知识库 tab).
STUDIO_ROLES = (ADMIN, EDITOR)
MAX_GROUP_NAME, MAX_RULES, MAX_RULE_CHARS = 32, 50, 128
# What ``Teams.access`` says of an agent and a hand-off.
OWN, OUTSIDE, REFUSED = "own", "outside", "refused"

metadata = sa.MetaData()

agent_roles = sa.Table(
    "agent_roles",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
)

agent_groups = sa.Table(
    "agent_groups",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(MAX_GROUP_NAME), nullable=False, unique=True),
    # JSON lists: the FAQ categories and the channels routed to this group.
    sa.Column("categories", sa.Text, nullable=False),
    sa.Column("channels", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

group_members = sa.Table(
    "agent_group_members",
    metadata,
    sa.Column("group_id", sa.Integer, primary_key=True),
    sa.Column("agent", sa.String(64), primary_key=True),
)

handoff_routes = sa.Table(
    "handoff_routes",
    metadata,
    sa.Column("handoff_id", sa.String(36), primary_key=True),
    sa.Column("group_id", sa.Integer, nullable=False, index=True),
    # Who sent it there: None for the routing rules, else the agent who transferred it.
    sa.Column("by", sa.String(64), nullable=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)


class TeamError(ValueError):
    """A group or role that cannot be saved, or a hand-off that is not this agent's to take."""


@dataclass(frozen=True)
class Group:
    id: int
    name: str
    categories: tuple[str, ...]
    channels: tuple[str, ...]
    members: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "categories": list(self.categories),
            "channels": list(self.channels),
            "members": list(self.members),
        }


def _rules(values: Any, what: str) -> tuple[str, ...]:
    """A list of strings from a request body, cleaned (``TeamError`` saying what is wrong)."""
    if values is None:
        return ()
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise TeamError(f"'{what}' must be a list of strings")
    cleaned = tuple(dict.fromkeys(v.strip() for v in values if v.strip()))
    if len(cleaned) > MAX_RULES or any(len(v) > MAX_RULE_CHARS for v in cleaned):
        raise TeamError(f"'{what}': at most {MAX_RULES} entries of at most {MAX_RULE_CHARS} characters")
    return cleaned


class Teams:
    def __init__(self, url: str) -> None:
        self._db = Database(url, metadata)

    @property
    def engine(self) -> sa.engine.Engine:
        return self._db.engine

    # -- roles -------------------------------------------------------------------

    def role_of(self, agent: str) -> str:
        with self.engine.connect() as conn:
            role = conn.execute(sa.select(agent_roles.c.role).where(agent_roles.c.name == agent)).scalar()
        return role or AGENT

    def roles(self) -> dict[str, str]:
        """Every agent given a role; the others are agents."""
        with self.engine.connect() as conn:
            return {r.name: r.role for r in conn.execute(sa.select(agent_roles)).all()}

    def set_role(self, agent: str, role: str) -> None:
        if role not in ROLES:
            raise TeamError(f"role must be one of {', '.join(ROLES)}")
        with self.engine.begin() as conn:
            done = conn.execute(agent_roles.update().where(agent_roles.c.name == agent).values(role=role))
            if done.rowcount == 0:
                conn.execute(agent_roles.insert().values(name=agent, role=role))

    def any_admin(self) -> bool:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(agent_roles.c.name).where(agent_roles.c.role == ADMIN)).first() is not None

    # -- groups ------------------------------------------------------------------

    def groups(self) -> list[Group]:
        """Every group with its members, by name."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(agent_groups).order_by(agent_groups.c.name)).all()
            members = conn.execute(sa.select(group_members).order_by(group_members.c.agent)).all()
        by_group: dict[int, list[str]] = {}
        for m in members:
            by_group.setdefault(m.group_id, []).append(m.agent)
        return [
            Group(
                r.id,
                r.name,
                tuple(json.loads(r.categories)),
                tuple(json.loads(r.channels)),
                tuple(by_group.get(r.id, [])),
            )
            for r in rows
        ]

    def group(self, group_id: int) -> Group:
        found = next((g for g in self.groups() if g.id == group_id), None)
        if found is None:
            raise TeamError(f"no group {group_id}")
        return found

    def save_group(
        self,
        name: str,
        categories: Any = None,
        channels: Any = None,
        members: Any = None,
        group_id: int | None = None,
    ) -> Group:
        """Add a group (``group_id`` None) or replace one's name, rules and members."""
        name = name.strip() if isinstance(name, str) else ""
        if not name or len(name) > MAX_GROUP_NAME:
            raise TeamError(f"a group name is 1 to {MAX_GROUP_NAME} characters")
        values = {
            "name": name,
            "categories": json.dumps(list(_rules(categories, "categories")), ensure_ascii=False),
            "channels": json.dumps(list(_rules(channels, "channels")), ensure_ascii=False),
        }
        agents = _rules(members, "members")
        with self.engine.begin() as conn:
            taken = conn.execute(sa.select(agent_groups.c.id).where(agent_groups.c.name == name)).scalar()
            if taken is not None and taken != group_id:
                raise TeamError(f"a group named {name!r} already exists")
            if group_id is None:
                group_id = int(
                    conn.execute(agent_groups.insert().values(**values, created_at=_now())).inserted_primary_key[0]
                )
            else:
                update = agent_groups.update().where(agent_groups.c.id == group_id).values(**values)
                if conn.execute(update).rowcount != 1:
                    raise TeamError(f"no group {group_id}")
            conn.execute(group_members.delete().where(group_members.c.group_id == group_id))
            if agents:
                conn.execute(group_members.insert(), [{"group_id": group_id, "agent": a} for a in agents])
        return self.group(group_id)

    def remove_group(self, group_id: int) -> None:
        """Delete a group; hand-offs waiting for it wait for everyone."""
        with self.engine.begin() as conn:
            if conn.execute(agent_groups.delete().where(agent_groups.c.id == group_id)).rowcount != 1:
                raise TeamError(f"no group {group_id}")
            conn.execute(group_members.delete().where(group_members.c.group_id == group_id))
            conn.execute(handoff_routes.delete().where(handoff_routes.c.group_id == group_id))

    def matching(self, category: str | None, channel: str) -> list[Group]:
        """Groups whose rules take a hand-off of this FAQ category on this channel:
        the category's groups first, then the channel's."""
        groups = self.groups()
        by_category = [g for g in groups if category and category in g.categories]
        by_channel = [g for g in groups if channel in g.channels and g not in by_category]
        return by_category + by_channel

    # -- routes ------------------------------------------------------------------

    def route(self, handoff_id: str, group_id: int | None, by: str | None = None) -> None:
        """Send the hand-off to a group's members (``None``: to everyone)."""
        with self.engine.begin() as conn:
            conn.execute(handoff_routes.delete().where(handoff_routes.c.handoff_id == handoff_id))
            if group_id is not None:
                conn.execute(handoff_routes.insert().values(handoff_id=handoff_id, group_id=group_id, by=by, at=_now()))

    def routes_of(self, handoff_ids: list[str]) -> dict[str, Group]:
        """The group each of these hand-offs is routed to (those routed to everyone are absent)."""
        if not handoff_ids:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(handoff_routes.c.handoff_id, handoff_routes.c.group_id).where(
                    handoff_routes.c.handoff_id.in_(handoff_ids)
                )
            ).all()
        groups = {g.id: g for g in self.groups()} if rows else {}
        return {r.handoff_id: groups[r.group_id] for r in rows if r.group_id in groups}

    def may_take(self, handoff_id: str, agent: str) -> Group | None:
        """``None`` if the agent may claim this hand-off, else the group it is waiting for."""
        group = self.routes_of([handoff_id]).get(handoff_id)
        if group is None or agent in group.members or self.role_of(agent) == ADMIN:
            return None
        return group

    # -- access by need (issue #18 item 6) ----------------------------------------

    def access(self, agent: str, handoffs: list[tuple[str, str | None]]) -> dict[str, str]:
        """For each ``(handoff id, agent it is with)``: ``OWN`` when this agent's need covers
        it (it is with them, routed to one of their groups, or routed to everyone),
        ``OUTSIDE`` when it does not but they are an admin (allowed, and audited as a
        view), else ``REFUSED``. Without groups every hand-off waits for everyone, so
        an installation without groups sees no change."""
        routes = self.routes_of([h for h, _ in handoffs])
        admin = self.role_of(agent) == ADMIN if any(h in routes for h, _ in handoffs) else False
        verdicts = {}
        for handoff_id, with_agent in handoffs:
            group = routes.get(handoff_id)
            if group is None or with_agent == agent or agent in group.members:
                verdicts[handoff_id] = OWN
            else:
                verdicts[handoff_id] = OUTSIDE if admin else REFUSED
        return verdicts

    def refused_of(self, agent: str, handoff_agents: dict[str, str | None]) -> set[str]:
        """Of these hand-offs (id → the agent it is with), those the agent may not see."""
        verdicts = self.access(agent, list(handoff_agents.items()))
        return {h for h, verdict in verdicts.items() if verdict == REFUSED}

    def visible(self, agent: str, found: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Those of ``found`` (hand-offs as JSON, or history results) the agent may see: what
        ``access`` does not refuse. 留言 (``"type": "ticket"``) are routed to nobody, so
        everyone sees them."""
        pairs = [(h["id"], h.get("agent")) for h in found if h.get("type", "handoff") == "handoff"]
        verdicts = self.access(agent, pairs)
        return [h for h in found if verdicts.get(h["id"], OWN) != REFUSED]

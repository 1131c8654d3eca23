"""How one dataset's graph lives inside a Neo4j database shared by every user and dataset.

Scheme (every name derives from the dataset id, so nothing needs a lookup table):
- every node of the dataset carries the label ``D_<hex>``; a client label ``Person`` is stored as
  ``L_<hex>__Person``, so a label scan never leaves the dataset;
- every relationship has the one type ``R_<hex>``; the client's type is the property ``#type``.
  Edge ids must be unique across all of a dataset's types, and Neo4j can only back that with a
  constraint on a single relationship type, so the dataset gets one (indexed on ``#type``);
- internal properties start with ``#`` (``#id`` the client's key, ``#labels`` the client's labels
  in their order, ``#type``, ``#o:<name>`` order keys of numeric values): a user-chosen name
  matches ``[A-Za-z_][A-Za-z0-9_]*`` and so can never collide with them;
- schema objects are named ``datainfra_<hex>_...`` so a drop finds them by prefix.

Every name reaches Cypher through :func:`quote`; user-chosen names are validated first.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass

from datainfra.domain.names import validate_name

KEY = "#id"
LABELS = "#labels"
TYPE = "#type"
ORDER_PREFIX = "#o:"
INTERNAL_PREFIX = "#"


def quote(name: str) -> str:
    """A backtick-quoted Cypher identifier (backticks inside are doubled)."""
    return "`" + name.replace("`", "``") + "`"


def order_key(prop: str) -> str:
    """The hidden property holding the order key of numeric property `prop`."""
    return ORDER_PREFIX + prop


def dataset_hex(dataset_id: str) -> str:
    try:
        return uuid.UUID(dataset_id).hex
    except ValueError:
        return hashlib.sha256(dataset_id.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class Namespace:
    hex: str

    @classmethod
    def of(cls, dataset_id: str) -> Namespace:
        return cls(dataset_hex(dataset_id))

    @property
    def node_label(self) -> str:
        return f"D_{self.hex}"

    @property
    def rel_type(self) -> str:
        return f"R_{self.hex}"

    @property
    def label_prefix(self) -> str:
        return f"L_{self.hex}__"

    def label(self, name: str) -> str:
        return self.label_prefix + validate_name(name, what="label")

    @property
    def schema_prefix(self) -> str:
        return f"datainfra_{self.hex}_"

    @property
    def node_key_constraint(self) -> str:
        return self.schema_prefix + "node_key"

    @property
    def edge_key_constraint(self) -> str:
        return self.schema_prefix + "edge_key"

    @property
    def edge_type_index(self) -> str:
        return self.schema_prefix + "edge_type"

    def property_index(self, label: str, properties: tuple[str, ...], unique: bool) -> str:
        digest = hashlib.sha256("\x00".join((label, *properties)).encode()).hexdigest()[:16]
        return self.schema_prefix + ("uq_" if unique else "ix_") + digest

    # -- quoted forms ready for templates ---------------------------------------------------------

    @property
    def n(self) -> str:
        """The quoted dataset node label."""
        return quote(self.node_label)

    @property
    def r(self) -> str:
        """The quoted dataset relationship type."""
        return quote(self.rel_type)

    def labels(self, names: tuple[str, ...]) -> str:
        """`:L1:L2` for the client labels `names` (empty text when none)."""
        return "".join(":" + quote(self.label(name)) for name in names)


Q_KEY = quote(KEY)
Q_LABELS = quote(LABELS)
Q_TYPE = quote(TYPE)


_INTERNAL_NAMES = (
    (re.compile(r"`?L_[0-9a-f]{32}__([A-Za-z0-9_]+)`?"), r"\1"),
    (re.compile(r"`?D_[0-9a-f]{32}`?"), "(dataset)"),
    (re.compile(r"`?R_[0-9a-f]{32}`?"), "(relationship)"),
    (re.compile(r"`?datainfra_[0-9a-f]{32}_\w*`?"), "(index)"),
    (re.compile(r"`?#o:([A-Za-z0-9_]+)`?"), r"\1"),
    (re.compile(r"`?#(id|labels|type)`?"), r"\1"),
    (re.compile(r"\b(Node|Relationship)\(\d+\)"), r"\1"),
    (re.compile(r"'?\d+:[0-9a-f-]{36}:\d+'?"), "..."),
)


def client_terms(message: str) -> str:
    """A store message with our names in the client's terms (or away): its first line only (the
    rest may echo our statement), namespaced labels as the client's, no record ids."""
    text = message.strip().split("\n", 1)[0]
    for pattern, replacement in _INTERNAL_NAMES:
        text = pattern.sub(replacement, text)
    return text

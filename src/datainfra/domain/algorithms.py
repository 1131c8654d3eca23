"""Graph algorithms on data a GraphStore fetched: pure Python, no I/O, so every adapter gives the
same answer to the last bit (the same input sorted the same way, the same float operations).

- `Projection`: a dataset's graph reduced to node ids and edges (of chosen types), which a store
  hands over within `MAX_PROJECTED_NODES` / `MAX_PROJECTED_EDGES`; PageRank, weakly connected
  components and degrees run on it.
- `all_shortest_paths`: every minimal path between two nodes, found on the adjacency a store
  fetched around the source (see its docstring for what that adjacency must hold).

Every result is in a total order that depends only on the data (ids break ties), never on the
order a store returned rows in.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from operator import mul, sub
from typing import Any, cast

from datainfra.domain.errors import InvalidInput, PayloadTooLarge
from datainfra.domain.graph import Direction
from datainfra.domain.types import FieldValue

MAX_PROJECTED_NODES = 200_000
"""The most nodes an algorithm request may project (the whole dataset's nodes count)."""
MAX_PROJECTED_EDGES = 1_000_000
"""The most edges (of the requested types) an algorithm request may project."""

DEFAULT_DAMPING = 0.85
DEFAULT_ITERATIONS = 100
MAX_ITERATIONS = 1000
DEFAULT_TOLERANCE = 1e-6
MAX_PAGERANK_WORK = 100_000_000
"""The most edges x iterations one PageRank may ask for (about a minute of CPU at the size limit)."""

Number = Decimal | float | int


# -- projection -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProjectedEdge:
    """One edge of a projection; `weight` is the raw value of the weight property asked for (None
    when absent or when no weight was asked for)."""

    id: str
    source: str
    target: str
    weight: FieldValue = None


@dataclass(frozen=True, slots=True)
class Projection:
    """Every node id of a dataset and its edges of the chosen types, in no particular order."""

    node_ids: tuple[str, ...]
    edges: tuple[ProjectedEdge, ...]


def check_projection_size(nodes: int, edges: int, *, max_nodes: int, max_edges: int) -> None:
    """Refuse a projection beyond the limits, with the same words in every adapter."""
    if nodes > max_nodes:
        raise PayloadTooLarge(
            f"graph algorithms run on at most {max_nodes} nodes and this dataset has {nodes}; "
            "they need the whole graph, so split the data into smaller datasets"
        )
    if edges > max_edges:
        raise PayloadTooLarge(
            f"graph algorithms run on at most {max_edges} edges and {edges} match; "
            "restrict the relationship types with `types`",
            field="types",
        )


def edge_weight(edge_id: str, value: object, name: str) -> Number | None:
    """A weight value checked: None when absent; a non-numeric or negative value is InvalidInput."""
    if value is None:
        return None
    finite = (
        isinstance(value, int)
        or (isinstance(value, float) and math.isfinite(value))
        or (isinstance(value, Decimal) and value.is_finite())
    )
    if isinstance(value, bool) or not finite:
        raise InvalidInput(f"edge {edge_id!r}: weight {name!r} is not a number", field="weight", key=edge_id)
    number = cast(Number, value)  # narrowed by `finite` above
    if number < 0:
        raise InvalidInput(f"edge {edge_id!r}: weight {name!r} is negative", field="weight", key=edge_id)
    return number


# -- PageRank -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PageRank:
    """Scores by node, ranked by score descending then id; `converged` is False when the power
    iteration stopped at the iteration limit (the scores are then the last iterate)."""

    ranking: list[tuple[str, float]]
    iterations: int
    converged: bool


def pagerank(
    projection: Projection,
    *,
    direction: Direction = Direction.OUT,
    damping: float = DEFAULT_DAMPING,
    max_iterations: int = DEFAULT_ITERATIONS,
    tolerance: float = DEFAULT_TOLERANCE,
    weight: str | None = None,
) -> PageRank:
    """networkx.pagerank's power iteration with its defaults: uniform start and teleport vectors,
    the rank of dangling nodes (no outgoing weight) spread uniformly, parallel edges' weights
    summed, converged when the L1 change of an iteration is below N * tolerance.

    `direction` out follows edges, in walks them backwards, both treats them as undirected. With
    `weight`, an edge counts by that property (edges lacking it are left out, as in path searches);
    without, every edge counts 1."""
    if max_iterations * len(projection.edges) > MAX_PAGERANK_WORK:
        raise PayloadTooLarge(
            f"PageRank may do at most {MAX_PAGERANK_WORK} edge visits (edges x iterations); "
            f"{len(projection.edges)} edges x {max_iterations} iterations is more: lower iterations or restrict types",
            field="iterations",
        )
    nodes = sorted(projection.node_ids)
    count = len(nodes)
    if count == 0:
        return PageRank([], 0, True)
    index = {node_id: i for i, node_id in enumerate(nodes)}
    # parallel arcs' amounts (arc key tail * count + head), summed with fsum below so that no
    # result depends on the order the store returned the edges in
    arcs: dict[int, float | list[float]] = {}
    bad: InvalidInput | None = None
    for edge in projection.edges:
        amount = 1.0
        if weight is not None:
            try:
                checked = edge_weight(edge.id, edge.weight, weight)
            except InvalidInput as exc:
                # report the smallest bad edge id, whatever order the store returned the edges in
                bad = exc if bad is None or edge.id < str(bad.key) else bad
                continue
            if checked is None:
                continue
            amount = float(checked)
        source, target = index[edge.source], index[edge.target]
        if direction is Direction.IN:
            source, target = target, source
        keys: tuple[int, ...] = (source * count + target,)
        if direction is Direction.BOTH and source != target:
            keys = (source * count + target, target * count + source)
        for key in keys:
            known = arcs.get(key)
            if known is None:
                arcs[key] = amount
            elif isinstance(known, list):
                known.append(amount)
            else:
                arcs[key] = [known, amount]
    if bad is not None:
        raise bad
    totals = [(*divmod(key, count), math.fsum(a) if isinstance(a, list) else a) for key, a in arcs.items()]
    del arcs
    outgoing: list[list[float]] = [[] for _ in range(count)]
    for tail, _head, amount in totals:
        outgoing[tail].append(amount)
    out_weight = [math.fsum(amounts) for amounts in outgoing]
    del outgoing
    # per head: its tails and their transition probabilities, so an iteration is one pass over the arcs
    tails: list[list[int]] = [[] for _ in range(count)]
    shares: list[list[float]] = [[] for _ in range(count)]
    for tail, head, amount in totals:
        if out_weight[tail] > 0:
            tails[head].append(tail)
            shares[head].append(amount / out_weight[tail])
    dangling = [i for i in range(count) if out_weight[i] == 0]
    teleport = (1.0 - damping) / count
    scores = [1.0 / count] * count
    links = list(zip(tails, shares, strict=True))
    for iteration in range(1, max_iterations + 1):
        spread = math.fsum(map(scores.__getitem__, dangling)) / count
        get = scores.__getitem__
        following = [damping * (math.fsum(map(mul, map(get, ts), ss)) + spread) + teleport for ts, ss in links]
        change = math.fsum(map(abs, map(sub, following, scores)))
        scores = following
        if change < count * tolerance:
            return PageRank(_ranked(nodes, scores), iteration, True)
    return PageRank(_ranked(nodes, scores), max_iterations, False)


def _ranked(nodes: Sequence[str], scores: Sequence[float]) -> list[tuple[str, float]]:
    return sorted(zip(nodes, scores, strict=True), key=lambda item: (-item[1], item[0]))


# -- weakly connected components ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Membership:
    """A node's weakly connected component, named by its smallest node id, and that component's size."""

    id: str
    component: str
    size: int


def weak_components(projection: Projection) -> tuple[list[Membership], int]:
    """Every node with its component (union-find, edge directions ignored), sorted by component
    then id; and the number of components."""
    parent = {node_id: node_id for node_id in projection.node_ids}

    def root(node_id: str) -> str:
        while parent[node_id] != node_id:
            parent[node_id] = parent[parent[node_id]]
            node_id = parent[node_id]
        return node_id

    for edge in projection.edges:
        a, b = root(edge.source), root(edge.target)
        if a != b:
            # the smaller id becomes the root, so every root is its component's smallest id
            if b < a:
                a, b = b, a
            parent[b] = a
    sizes: dict[str, int] = {}
    for node_id in parent:
        top = root(node_id)
        sizes[top] = sizes.get(top, 0) + 1
    members = [Membership(node_id, root(node_id), sizes[root(node_id)]) for node_id in parent]
    members.sort(key=lambda m: (m.component, m.id))
    return members, len(sizes)


# -- degrees --------------------------------------------------------------------------------------


def degrees(projection: Projection, direction: Direction = Direction.BOTH) -> list[tuple[str, int]]:
    """Each node's number of outgoing, incoming or all edges (a self-loop counts once each way, so
    twice for `both`), sorted by degree descending then id."""
    counts = dict.fromkeys(projection.node_ids, 0)
    for edge in projection.edges:
        if direction is not Direction.IN:
            counts[edge.source] += 1
        if direction is not Direction.OUT:
            counts[edge.target] += 1
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


# -- all shortest paths ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Step:
    """An edge followable from a node: its id, the far end, and its raw weight value."""

    edge_id: str
    far: str
    weight: FieldValue = None


@dataclass(frozen=True, slots=True)
class FoundPath:
    """A path as ids: `nodes` from source to target, `edges` between them; `cost` when weighted."""

    nodes: tuple[str, ...]
    edges: tuple[str, ...]
    cost: Number | None = None


def all_shortest_paths(
    adjacency: Mapping[str, Sequence[Step]],
    source: str,
    target: str,
    *,
    weight: str | None,
    max_depth: int,
    limit: int,
) -> list[FoundPath]:
    """The first `limit` minimal paths from source to target of at most `max_depth` hops, ordered
    by their sequence of node ids, then of edge ids (code-point order). Minimal means fewest hops
    unweighted; with `weight`, least total weight (exact arithmetic), every such path that repeats
    no node, whatever its hop count.

    `adjacency` maps a node to the steps followable from it. It must hold the steps of every node
    within max_depth - 1 hops of the source (unweighted: within d - 1 hops, d the target's
    distance, is enough); with a weight, only steps whose edge has it (a bad weight value on any
    of them raises InvalidInput, the smallest edge id first)."""
    if limit <= 0:
        return []
    if source == target:
        return [FoundPath((source,), (), None if weight is None else 0)]
    costs = _step_costs(adjacency, weight)
    remaining = _remaining(adjacency, costs, target, max_depth)
    best = remaining.least(source, max_depth)
    if best is None:
        return []
    choices = _choices(adjacency)
    found: list[FoundPath] = []
    for nodes, edge_lists in _walks(choices, costs, remaining, source, target, best, max_depth):
        for edges in _product(edge_lists):
            cost = None if weight is None else _path_cost(adjacency, nodes, edges)
            found.append(FoundPath(tuple(nodes), tuple(edges), cost))
            if len(found) >= limit:
                return found
    return found


def _step_costs(adjacency: Mapping[str, Sequence[Step]], weight: str | None) -> dict[str, Fraction | int]:
    """Each edge's exact cost (1 unweighted), checked in edge-id order."""
    raw = {step.edge_id: step.weight for steps in adjacency.values() for step in steps}
    if weight is None:
        return dict.fromkeys(raw, 1)
    costs: dict[str, Fraction | int] = {}
    for edge_id in sorted(raw):
        checked = edge_weight(edge_id, raw[edge_id], weight)
        if checked is not None:
            costs[edge_id] = checked if isinstance(checked, int) else Fraction(checked)
    return costs


class _Remaining:
    """Per node, the Pareto front of (least cost to the target, hops): cost ascending, hops
    strictly descending."""

    def __init__(self) -> None:
        self.fronts: dict[str, list[tuple[Fraction | int, int]]] = {}

    def least(self, node: str, budget: int) -> Fraction | int | None:
        """The least cost from `node` to the target in at most `budget` hops."""
        for cost, hops in self.fronts.get(node, ()):
            if hops <= budget:
                return cost
        return None


def _remaining(
    adjacency: Mapping[str, Sequence[Step]], costs: Mapping[str, Fraction | int], target: str, max_depth: int
) -> _Remaining:
    """Dijkstra backwards from the target over (node, hops) labels, keeping a label only when no
    cheaper one had as few hops."""
    backwards: dict[str, list[tuple[str, Fraction | int]]] = {}
    for tail, steps in adjacency.items():
        for step in steps:
            if step.edge_id in costs and step.far != tail:
                backwards.setdefault(step.far, []).append((tail, costs[step.edge_id]))
    found = _Remaining()
    fewest: dict[str, int] = {}
    queue: list[tuple[Fraction | int, int, str]] = [(0, 0, target)]
    while queue:
        cost, hops, node = heapq.heappop(queue)
        if fewest.get(node, max_depth + 1) <= hops:
            continue
        fewest[node] = hops
        found.fronts.setdefault(node, []).append((cost, hops))
        if hops == max_depth:
            continue
        for tail, amount in backwards.get(node, ()):
            if fewest.get(tail, max_depth + 1) > hops + 1:
                heapq.heappush(queue, (cost + amount, hops + 1, tail))
    return found


def _choices(adjacency: Mapping[str, Sequence[Step]]) -> dict[str, list[tuple[str, list[Step]]]]:
    """Per node, its steps grouped by far end: far ends ascending, each group's edges ascending."""
    grouped: dict[str, list[tuple[str, list[Step]]]] = {}
    for node, steps in adjacency.items():
        by_far: dict[str, dict[str, Step]] = {}
        for step in steps:
            by_far.setdefault(step.far, {})[step.edge_id] = step
        grouped[node] = [(far, [group[k] for k in sorted(group)]) for far, group in sorted(by_far.items())]
    return grouped


def _walks(
    choices: Mapping[str, list[tuple[str, list[Step]]]],
    costs: Mapping[str, Fraction | int],
    remaining: _Remaining,
    source: str,
    target: str,
    best: Fraction | int,
    max_depth: int,
) -> Iterator[tuple[list[str], list[list[str]]]]:
    """Depth-first in node-id order: each node sequence of a minimal path, with the edge ids that
    may join each consecutive pair. A step is taken only when the best completion from its far end
    still totals `best`, so (bar zero-weight cycles) no branch is a dead end."""
    nodes = [source]
    edge_lists: list[list[str]] = []
    visited = {source}

    def extend(node: str, cost: Fraction | int) -> Iterator[tuple[list[str], list[list[str]]]]:
        if node == target:
            yield nodes, edge_lists
            return
        hops = len(edge_lists)
        if hops >= max_depth:
            return
        for far, steps in choices.get(node, ()):
            if far in visited:
                continue
            rest = remaining.least(far, max_depth - hops - 1)
            if rest is None:
                continue
            usable = [s.edge_id for s in steps if s.edge_id in costs and cost + costs[s.edge_id] + rest == best]
            if not usable:
                continue
            nodes.append(far)
            edge_lists.append(usable)
            visited.add(far)
            yield from extend(far, cost + costs[usable[0]])
            visited.discard(far)
            edge_lists.pop()
            nodes.pop()

    yield from extend(source, 0)


def _product(edge_lists: Sequence[Sequence[str]]) -> Iterator[list[str]]:
    """Every choice of one edge per hop, in lexicographic order."""
    if not edge_lists:
        yield []
        return
    for first in edge_lists[0]:
        for rest in _product(edge_lists[1:]):
            yield [first, *rest]


def _path_cost(adjacency: Mapping[str, Sequence[Step]], nodes: Sequence[str], edges: Sequence[str]) -> Number:
    """The path's total in the values' own kind, added in path order (float once any is a float),
    as the single shortest path reports it."""
    total: Number = 0
    for tail, edge_id in zip(nodes, edges, strict=False):
        # a weighted path's weights were checked (edge_weight) when the path was found
        value = cast(Number, next(s.weight for s in adjacency[tail] if s.edge_id == edge_id))
        if isinstance(total, float) or isinstance(value, float):
            total = float(total) + float(value)
        else:
            total = total + value
    return total


# -- least-cost path (shared by every store) ------------------------------------------------------


def least_cost(
    neighbours: Callable[[str], Iterable[Step]], source: str, target: str, weight_name: str, max_depth: int
) -> tuple[list[Step], Number] | None:
    """Dijkstra over (node, hops) states, so a cheaper path with more hops wins while it stays within
    `max_depth`. Edges without a weight are not followed; a weight that is negative or not a number
    is an error only when the search reaches that edge. Every store calls this one search."""
    start: tuple[Any, int, int, str] = (0, 0, 0, source)
    queue = [start]
    parent: dict[tuple[str, int], tuple[Step, tuple[str, int]] | None] = {(source, 0): None}
    best: dict[tuple[str, int], Any] = {(source, 0): 0}
    settled_hops: dict[str, int] = {}
    counter = 0
    while queue:
        cost, hops, _order_no, node = heapq.heappop(queue)
        if best.get((node, hops)) != cost or settled_hops.get(node, max_depth + 1) <= hops:
            continue
        settled_hops[node] = hops
        if node == target:
            return _unwind_steps(parent, (node, hops)), cost
        if hops == max_depth:
            continue
        for step in neighbours(node):
            amount = edge_weight(step.edge_id, step.weight, weight_name)
            if amount is None:
                continue
            total = _add_costs(cost, amount)
            state = (step.far, hops + 1)
            if state not in best or total < best[state]:
                best[state] = total
                parent[state] = (step, (node, hops))
                counter += 1
                heapq.heappush(queue, (total, hops + 1, counter, step.far))
    return None


def _unwind_steps(
    parent: Mapping[tuple[str, int], tuple[Step, tuple[str, int]] | None], state: tuple[str, int]
) -> list[Step]:
    steps: list[Step] = []
    while (link := parent[state]) is not None:
        step, previous = link
        steps.append(step)
        state = previous
    return steps[::-1]


def _add_costs(a: Number, b: Number) -> Number:
    if isinstance(a, float) or isinstance(b, float):
        return float(a) + float(b)
    return a + b

"""Reference union-find for tests: the single-machine answer the Beam clustering must equal."""

from __future__ import annotations

from collections.abc import Hashable, Iterable


class UnionFind:
    """Disjoint sets with path halving and union by size; labels are each set's minimum."""

    def __init__(self) -> None:
        self._parent: dict[Hashable, Hashable] = {}
        self._size: dict[Hashable, int] = {}

    def find(self, node: Hashable) -> Hashable:
        self._parent.setdefault(node, node)
        self._size.setdefault(node, 1)
        while self._parent[node] != node:
            self._parent[node] = self._parent[self._parent[node]]
            node = self._parent[node]
        return node

    def union(self, first: Hashable, second: Hashable) -> None:
        root_a, root_b = self.find(first), self.find(second)
        if root_a == root_b:
            return
        if self._size[root_a] < self._size[root_b]:
            root_a, root_b = root_b, root_a
        self._parent[root_b] = root_a
        self._size[root_a] += self._size[root_b]

    def min_labels(self) -> dict[Hashable, Hashable]:
        """node -> the smallest node of its set (the same labelling as large/small-star)."""
        smallest: dict[Hashable, Hashable] = {}
        for node in self._parent:
            root = self.find(node)
            if root not in smallest or node < smallest[root]:
                smallest[root] = node
        return {node: smallest[self.find(node)] for node in self._parent}


def components_by_union_find(edges: Iterable[tuple]) -> dict[Hashable, Hashable]:
    """node -> component minimum for every node on an edge."""
    union_find = UnionFind()
    for first, second in edges:
        union_find.union(first, second)
    return union_find.min_labels()

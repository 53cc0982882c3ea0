"""The branch tree of the runs (who was branched from whom, at which step), for the Runs page."""

from __future__ import annotations

from dataclasses import dataclass

from gan_core.lineage import family

from .run_views import RunInfo


@dataclass(frozen=True)
class Node:
    depth: int
    name: str
    title: str
    state: str
    step: int
    parent_step: int  # where it left its parent (0 for a root)


def tree(runs: list[RunInfo]) -> list[Node]:
    """The runs in tree order: each root, then its branches under it (depth-first, oldest first)."""
    by_name = {r.name: r for r in sorted(runs, key=lambda r: r.created)}
    cfgs = {n: r.run.config_or_none() for n, r in by_name.items()}
    kids = family(cfgs)
    out: list[Node] = []

    def walk(name: str, depth: int) -> None:
        r, cfg = by_name[name], cfgs[name]
        out.append(Node(depth, name, r.title, r.state, r.step, cfg.lineage.parent_step if cfg and depth else 0))
        for child in kids.get(name, []):
            walk(child, depth + 1)

    for root in kids[""]:
        walk(root, 0)
    return out


def has_branches(nodes: list[Node]) -> bool:
    return any(n.depth for n in nodes)


def tree_text(nodes: list[Node]) -> str:
    """The tree as text lines ("└─ child  (from step 400) · finished · step 800")."""
    lines = []
    for n in nodes:
        lead = "    " * (n.depth - 1) + "└─ " if n.depth else ""
        where = f"  (from step {n.parent_step:,})" if n.depth else ""
        lines.append(f"{lead}{n.title}{where} · {n.state} · step {n.step:,}")
    return "\n".join(lines)

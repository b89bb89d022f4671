"""The order of a run: independent repeats, interleaved across setups in a seeded random order.

A repeat is a block: a fresh start of one setup that serves every scenario and concurrency level once, then
stops. Each round holds one block of every setup (the A/A control included) in a freshly shuffled order, and
its own shuffled scenario order, so drift over the run is spread over the setups instead of following one.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from bench.drive.servers import SETUPS
from bench.runformat import cell_id

# The A/A control: the same setup started a second time under this name, as an independent setup.
AA_SUFFIX = "~aa"


def control_name(setup: str) -> str:
    """The name under which the A/A control of a setup runs."""
    return setup + AA_SUFFIX


def base_setup(server: str) -> str:
    """The registry name of a setup as run (the control runs the setup it duplicates)."""
    return server.removesuffix(AA_SUFFIX)


def control_of(server: str) -> str:
    """The setup a control duplicates ('' for a setup that is not a control)."""
    return base_setup(server) if server.endswith(AA_SUFFIX) else ""


@dataclass(frozen=True)
class Cell:
    """One measurement: a server setup, a scenario, a concurrency level and a repeat, at its place in the run."""

    server: str
    scenario: str
    users: int
    repeat: int
    order: int = 0

    @property
    def id(self) -> str:
        """The cell's stable name (also its raw/ directory)."""
        return cell_id(self.server, self.scenario, self.users, self.repeat)

    @property
    def setup(self) -> str:
        """The registry name of the setup this cell runs."""
        return base_setup(self.server)


@dataclass(frozen=True)
class Block:
    """One fresh start of one setup: the cells it serves before it is stopped."""

    server: str
    repeat: int
    cells: tuple[Cell, ...]


def run_setups(servers: Sequence[str], aa_control: str) -> list[str]:
    """The setups of a run: the configured ones plus the A/A control when its setup is among them."""
    return [*servers, control_name(aa_control)] if aa_control and aa_control in servers else list(servers)


def plan(
    servers: Sequence[str], scenarios: Sequence[str], users: Sequence[int], repeats: int, seed: int
) -> list[Block]:
    """Every block of the run in execution order; cells carry their execution index (from 1) in `order`."""
    rng = random.Random(seed)
    blocks: list[Block] = []
    order = 1  # the run format reads 0 as "not recorded"
    for repeat in range(1, repeats + 1):
        round_servers = rng.sample(list(servers), k=len(servers))
        round_scenarios = rng.sample(list(scenarios), k=len(scenarios))
        for server in round_servers:
            cells = []
            # A setup is measured only on the scenarios it serves (a baseline: the reads; a sweep: upstream).
            for scenario in (sc for sc in round_scenarios if SETUPS[base_setup(server)].supports(sc)):
                for level in users:
                    cells.append(Cell(server, scenario, level, repeat, order))
                    order += 1
            blocks.append(Block(server, repeat, tuple(cells)))
    return blocks


STEAL_REASON = "CPU steal"  # the prefix bench/drive/cellmeasure.py gives a cell the hypervisor took time from


def stolen_only(reason: str) -> bool:
    """True when every reason a cell is invalid for is CPU steal: the host's fault, worth measuring again."""
    parts = [p.strip() for p in reason.split(";") if p.strip()]
    return bool(parts) and all(p.startswith(STEAL_REASON) for p in parts)


def retry_blocks(cells: Sequence[Cell], first_order: int) -> list[Block]:
    """Fresh-start blocks that measure these cells again, one per (setup, repeat), orders continuing the run's."""
    blocks: dict[tuple[str, int], list[Cell]] = {}
    for offset, cell in enumerate(cells):
        again = Cell(cell.server, cell.scenario, cell.users, cell.repeat, first_order + offset)
        blocks.setdefault((cell.server, cell.repeat), []).append(again)
    return [Block(server, repeat, tuple(group)) for (server, repeat), group in blocks.items()]

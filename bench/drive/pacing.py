"""One open-loop user's send schedule: imported by every Locust process, so it imports only the standard library."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class PacedSchedule:
    """One user's send times: slot `slot` of `users` on a lattice of spacing 1/rate from `t0`."""

    # User u sends request k at t0 + u/rate + k·users/rate, so the users together send exactly `rate` requests per
    # second, evenly spaced. A user spawned after its slot starts at its next one (ramp-up, not lateness); a user
    # still busy at its slot sends at once when free, and its latency counts from the slot.
    rate: float
    users: int
    slot: int
    t0: float
    k: int = 0

    @property
    def period(self) -> float:
        """Seconds between two sends of this user."""
        return self.users / self.rate

    def intended(self, k: int) -> float:
        """The intended send time of this user's k-th request."""
        return self.t0 + self.slot / self.rate + k * self.period

    def first(self, now: float) -> float:
        """The first slot at or after `now`."""
        self.k = max(0, math.ceil((now - self.intended(0)) / self.period - 1e-9))
        return self.intended(self.k)

    def advance(self, now: float) -> float:
        """Move to the next slot; the seconds to wait for it (0 when already behind: the user sends at once)."""
        self.k += 1
        return max(0.0, self.intended(self.k) - now)


def global_slot(local_index: int, process_index: int, processes: int, users: int) -> int:
    """A user's slot in the global lattice: users of P processes interleave (local i of process p → i·P + p)."""
    return (local_index * processes + process_index) % max(1, users)

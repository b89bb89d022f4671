"""POST /orders: the authenticated write path (row locks, stock decrement, lines, background notification)."""

from locust import task

from bench.drive.scenarios.base import BenchUser


class OrderUser(BenchUser):
    """Logs in once, then places orders in a closed loop."""

    def prepare(self) -> None:
        """Log in once per simulated user."""
        self.log_in()

    @task
    def order(self) -> None:
        """One order of 1–5 lines."""
        if self.token is None:
            self.log_in()
            return
        self.place_order()

"""A realistic session: log in once, then browse, view, quote, order and check my orders (weighted)."""

from locust import task

from bench.drive.scenarios.base import BenchUser


class JourneyUser(BenchUser):
    """A shopper: mostly reads, sometimes a quote, occasionally an order."""

    def prepare(self) -> None:
        """Log in once per simulated user."""
        self.log_in()

    @task(4)
    def browse(self) -> None:
        """A page of the catalogue, sometimes searched."""
        skip = self.rng.randint(0, 200)
        url = f"/items?limit=10&skip={skip}" + ("&q=widget" if self.rng.random() < 0.25 else "")
        with self.client.get(url, name="/items?limit=10&skip=[n](&q=)", catch_response=True) as response:
            self.expect(response, 200, "data", "count")

    @task(6)
    def view(self) -> None:
        """One item's page."""
        with self.client.get(f"/items/{self.random_item_id()}", name="/items/[id]", catch_response=True) as r:
            self.expect(r, 200, "id", "price")

    @task(1)
    def quote(self) -> None:
        """A shipping quote (waits on the upstream carrier)."""
        zip_code = f"{self.rng.randint(0, 99_999):05d}"
        url = f"/items/{self.random_item_id()}/shipping-quote?zip={zip_code}"
        with self.client.get(url, name="/items/[id]/shipping-quote", catch_response=True) as response:
            self.expect(response, 200, "cost", "eta_days")

    @task(1)
    def order(self) -> None:
        """Buy something."""
        if self.token is None:
            self.log_in()
            return
        self.place_order()

    @task(2)
    def my_orders(self) -> None:
        """The first page of my orders."""
        if self.token is None:
            self.log_in()
            return
        with self.client.get("/orders?limit=10", headers=self.auth, name="/orders", catch_response=True) as r:
            self.expect(r, 200, "data", "count")

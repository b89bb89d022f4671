"""GET /items/{id}/shipping-quote: one DB read plus a call to a slow upstream (the I/O-bound case)."""

from locust import task

from bench.drive.scenarios.base import BenchUser


class UpstreamUser(BenchUser):
    """Asks for shipping quotes; the carrier stub answers after its configured delay (50 ms)."""

    @task
    def quote(self) -> None:
        """One quote for a random item and ZIP code."""
        zip_code = f"{self.rng.randint(0, 99_999):05d}"
        url = f"/items/{self.random_item_id()}/shipping-quote?zip={zip_code}"
        with self.client.get(url, name="/items/[id]/shipping-quote", catch_response=True) as response:
            body = self.expect(response, 200, "item_id", "cost", "eta_days")
            if response.status_code == 200 and body.get("zip") != zip_code:
                response.failure("wrong zip")

"""GET /items?limit=20&skip=…: a page of items plus the total count."""

from locust import task

from bench.drive.scenarios.base import BenchUser

PAGE = 20


class ListUser(BenchUser):
    """Pages through the item list at random offsets."""

    @task
    def page(self) -> None:
        """One page of 20."""
        skip = self.rng.randint(0, self.seed_items - PAGE)
        with self.client.get(
            f"/items?limit={PAGE}&skip={skip}", name="/items?limit=20&skip=[n]", catch_response=True
        ) as response:
            body = self.expect(response, 200, "data", "count")
            if response.status_code == 200 and len(body.get("data", [])) != PAGE:
                response.failure("short page")

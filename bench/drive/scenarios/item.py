"""GET /items/{id}: a primary-key read of a random seeded item."""

from locust import task

from bench.drive.scenarios.base import BenchUser


class ItemUser(BenchUser):
    """Reads random items by id."""

    @task
    def item(self) -> None:
        """One item by id."""
        item_id = self.random_item_id()
        with self.client.get(f"/items/{item_id}", name="/items/[id]", catch_response=True) as response:
            body = self.expect(response, 200, "id", "price")
            if response.status_code == 200 and body.get("id") != item_id:
                response.failure("wrong item")

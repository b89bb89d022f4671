"""GET /health/live: the framework floor (routing, middleware, serialisation; no database)."""

from locust import task

from bench.drive.scenarios.base import BenchUser


class HealthUser(BenchUser):
    """Asks for /health/live in a closed loop."""

    @task
    def health(self) -> None:
        """One liveness check."""
        with self.client.get("/health/live", catch_response=True) as response:
            if self.expect(response, 200, "status").get("status") != "alive":
                response.failure("not alive")

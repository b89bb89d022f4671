"""GET /health: the framework floor (routing, serialisation, middleware; no database)."""

from locust import task

from bench.scenarios.base import BenchUser


class HealthUser(BenchUser):
    """Asks for /health in a closed loop."""

    @task
    def health(self) -> None:
        """One health check."""
        with self.client.get("/health", catch_response=True) as response:
            if self.expect(response, 200, "status").get("status") != "healthy":
                response.failure("not healthy")

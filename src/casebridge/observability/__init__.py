"""What operators watch (issue 21, part 4): liveness and readiness, Prometheus metrics and
structured logs with a request id. Counts and route names only, never personal data."""

"""`manage.py artu_sandbox`: runs the local Artu sandbox on loopback, with optional fault injection."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from onboarding.artu.sandbox import FaultConfig, SandboxServer


def _latency(value: str) -> float | list[float]:
    """`200` (fixed) or `100-300` (uniform range), in milliseconds."""
    low, _, high = value.partition("-")
    return [float(low), float(high)] if high else float(low)


class Command(BaseCommand):
    help = "Run the Artu sandbox (POST /clients/batch, GET /clients/metadata/{key}/{value}) on loopback."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind (default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=8001, help="port (default 8001; 0 picks a free one)")
        parser.add_argument("--latency-ms", type=_latency, default=0, help="added latency: N or LOW-HIGH ms")
        parser.add_argument("--rate-429", type=float, default=0, help="share of requests answered 429")
        parser.add_argument("--retry-after", type=int, default=1, help="Retry-After seconds sent with 429")
        parser.add_argument("--rate-500", type=float, default=0, help="share of requests answered 500")
        parser.add_argument("--drop-rate", type=float, default=0, help="share dropped before processing")
        parser.add_argument(
            "--commit-then-drop-rate", type=float, default=0, help="share stored, then the connection dropped"
        )
        parser.add_argument("--commit-then-late-rate", type=float, default=0, help="share stored, answered too late")
        parser.add_argument("--late-ms", type=float, default=35_000, help="delay of a too-late answer (ms)")
        parser.add_argument("--seed", type=int, default=None, help="random seed for reproducible faults")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            faults = FaultConfig(
                latency_ms=options["latency_ms"],
                rate_429=options["rate_429"],
                retry_after=options["retry_after"],
                rate_500=options["rate_500"],
                drop_rate=options["drop_rate"],
                commit_then_drop_rate=options["commit_then_drop_rate"],
                commit_then_late_rate=options["commit_then_late_rate"],
                late_ms=options["late_ms"],
                seed=options["seed"],
            )
            server = SandboxServer(options["host"], options["port"], token=settings.ARTU_SANDBOX_TOKEN, faults=faults)
        except (ValueError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Artu sandbox listening on {server.url} (token: ARTU_SANDBOX_TOKEN; X-Environment: test or live)"
        )
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()

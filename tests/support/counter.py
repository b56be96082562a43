"""The counter's stack for API + worker tests: services from settings, empty RQ queues, the app."""

from __future__ import annotations

from fastapi import FastAPI
from redis import Redis
from rq import Queue

from api.app import create_app
from api.state import AppState
from ecopy import wiring
from ecopy.settings import Settings
from workers.queues import INTAKE_QUEUE, SIGN_QUEUE
from workflow import context
from workflow.context import Services


def counter_stack(settings: Settings, redis_url: str) -> tuple[Services, Redis, FastAPI]:
    """Services built as a signer worker builds them (with the key), configured for the jobs of this
    process; the intake and sign queues emptied; the app the clerk and signer talk to. The tests
    drain the queues themselves, so an approval does not wait for a signer worker."""
    services = wiring.build_services(settings, with_key=True)
    context.configure(services)
    conn = Redis.from_url(redis_url)
    for q in (INTAKE_QUEUE, SIGN_QUEUE):
        Queue(q, connection=conn).empty()
    app = create_app(
        AppState(
            registry=services.registry,
            store=services.store,
            redis=conn,
            trust_roots=services.trust_roots,
            max_upload_bytes=20 * 1024 * 1024,
            office=settings.office,
            approve_wait_seconds=0,
        )
    )
    return services, conn, app

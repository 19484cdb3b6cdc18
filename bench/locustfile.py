"""Mixed workload of personas for locust (run by bench/load.py, or by hand:
``locust -f bench/locustfile.py --headless --host http://127.0.0.1:8000``).

Every persona signs in once at the start (the police liaison with the demo's TOTP secret,
as printed by ``casebridge demo``) and all its simulated users share that session, so the
test measures pages, not Argon2. Environment: CASEBRIDGE_LOAD_TOKEN (a hotline API token,
for contact creation), CASEBRIDGE_LOAD_MAX_REQUESTS (stop after this many requests; 0 =
only the run time bounds the test), CASEBRIDGE_LOAD_WAIT ("think": 0.5–2 s between a
user's requests, as people work; "zero": none, to find the saturation point).

The personas are Hotline, Partner and Police; ``Floor`` (named alone on the command line)
asks only /health/ with the partner's session: the framework's floor on the same stack.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import random
import struct
import time

import gevent
import requests
from locust import HttpUser, between, constant, events, task

PASSWORD = "demo-{}-2026"  # noqa: S105 - casebridge.ops.demo.DemoUser.password, demo only
SESSIONS: dict[str, dict] = {}
CASES: dict[str, list[int]] = {}
COUNT = {"requests": 0}


def demo_totp(username: str) -> str:
    """The code an authenticator shows for the demo key (casebridge.ops.demo.demo_totp_key)."""
    key = bytes.fromhex(
        hashlib.sha256(f"casebridge-demo-totp:{username}".encode()).hexdigest()[:40]
    )
    digest = hmac.new(key, struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 10**6:06d}"


def sign_in(host: str, username: str) -> requests.Session:
    session = requests.Session()
    session.get(f"{host}/accounts/login/", timeout=30)
    response = session.post(
        f"{host}/accounts/login/",
        data={
            "username": username,
            "password": PASSWORD.format(username),
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        headers={"Referer": f"{host}/accounts/login/"},
        timeout=30,
    )
    if "/two-factor/verify/" in response.url:
        verify = response.url
        for attempt in range(2):
            if attempt:  # a code is good once: an earlier run took this one, wait for the next
                time.sleep(30 - time.time() % 30 + 1)
            response = session.post(
                verify,
                data={
                    "code": demo_totp(username),
                    "csrfmiddlewaretoken": session.cookies["csrftoken"],
                },
                headers={"Referer": verify},
                timeout=30,
            )
            if "/two-factor/" not in response.url:
                break
    if 'name="password"' in response.text or "/two-factor/" in response.url:
        raise RuntimeError(f"{username}: sign-in failed")
    return session


@events.test_start.add_listener
def sign_in_personas(environment, **_kwargs):
    """Sign in the personas this run's user classes play (the floor uses the partner's)."""
    needed = {getattr(cls, "username", "") or "partner" for cls in environment.user_classes}
    for username in sorted(needed):
        session = sign_in(environment.host, username)
        SESSIONS[username] = session.cookies.get_dict()
        cases = session.get(f"{environment.host}/api/v1/cases?limit=100", timeout=30).json()
        items = cases["items"] if isinstance(cases, dict) else cases
        CASES[username] = [case["id"] for case in items]


@events.request.add_listener
def stop_after_enough_requests(**_kwargs):
    limit = int(os.environ.get("CASEBRIDGE_LOAD_MAX_REQUESTS", "0"))
    COUNT["requests"] += 1
    if limit and COUNT["requests"] == limit:
        # Not from inside the request hook: quitting kills the greenlet that runs it.
        gevent.spawn(RUNNERS[0].quit)


RUNNERS: list = []


@events.init.add_listener
def remember_runner(environment, **_kwargs):
    RUNNERS.append(environment.runner)


WAIT = constant(0) if os.environ.get("CASEBRIDGE_LOAD_WAIT") == "zero" else between(0.5, 2.0)


class Persona(HttpUser):
    abstract = True
    username = ""
    wait_time = WAIT

    def on_start(self):
        self.client.cookies.update(SESSIONS[self.username])

    def case_page(self):
        if CASES[self.username]:
            case = random.choice(CASES[self.username])
            self.client.get(f"/cases/{case}/", name="/cases/[id]/")

    @task(1)
    def directory(self):
        self.client.get("/network/organisations/")


class Hotline(Persona):
    weight = 3
    username = "hotline"

    @task(3)
    def intake(self):
        self.client.get("/hotline/")

    @task(2)
    def contacts(self):
        self.client.get("/hotline/contacts/")

    @task(1)
    def record_contact(self):
        self.client.post(
            "/api/v1/hotline/contacts",
            json={
                # a call that began minutes ago and is ended now (an old start needs its end)
                "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 300)),
                "caller_category": "parents_relatives",
                "contact_category": "general_information",
            },
            headers={"Authorization": f"Bearer {os.environ['CASEBRIDGE_LOAD_TOKEN']}"},
        )


class Partner(Persona):
    weight = 3
    username = "partner"

    @task(2)
    def inbox(self):
        self.client.get("/hotline/referrals/")

    @task(1)
    def cases(self):
        self.client.get("/cases/")

    @task(3)
    def case(self):
        self.case_page()


class Police(Persona):
    weight = 1
    username = "police"

    @task(1)
    def cases(self):
        self.client.get("/cases/")

    @task(2)
    def case(self):
        self.case_page()


class Floor(HttpUser):
    """A signed-in user asking a view that does nothing: what the stack itself costs."""

    wait_time = WAIT

    def on_start(self):
        self.client.cookies.update(SESSIONS["partner"])

    @task
    def health(self):
        self.client.get("/health/")

"""Two independent installations that federate (issue 22), each as an operator runs it.

A is Hamburg (the shipped German model), B is Rotterdam (the Dutch fixture model). Each
has its own folder, keys, database (SQLite, or a throwaway PostgreSQL database cb_ops_*)
and federation folder; ``casebridge federation init`` makes each side's signing key, each
side's model file is its base model with a ``[federation]`` table naming the other (its
address on a fixed loopback port, its public key), loaded with ``casebridge model load``;
both store the same match key. gunicorn serves each on its port (``Side.start``/``stop``:
a side taken down comes back at the same address).

Actions go through each installation's API with the counsellor's personal token
(``Side.api``) where a token may do them; proposing a handover and sending its
information need a session that confirmed it is the user (tokens are refused there by
design), so those, and the setting up of cases, run through the services in a
``casebridge shell`` of the installation (``Side.act``): the same checks either way.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import secrets
import shutil
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tests.robustness.server import (
    REPO,
    SOURCE,
    Installation,
    Server,
    api_fetch,
    api_post,
    free_port,
    postgres_database,
)

AGREEMENT = "hamburg-rotterdam"
GERMANY = SOURCE / "casebridge" / "cooperation_models" / "germany.toml"
ROTTERDAM = REPO / "tests" / "fixtures" / "models" / "netherlands-rotterdam.toml"
PASSWORD = "federation-robustness-2026"
# what crosses in each direction: consultation and match name nobody; a handover may carry
# identity, coordination and counselling, and a proposal names which of them are sent
CATEGORIES = ["identity", "case_coordination", "counselling"]


@dataclass
class SideSpec:
    """What makes one side: its model, its installation code, its own legal basis for
    consent, the case closing reason for a case that moved, the organisation whose
    staff act, and the counsellor there."""

    installation: str
    label: str
    base_model: Path
    consent_basis: str
    partner_basis_citation: str
    closing_reason: str
    organisation: str
    counsellor: str
    languages: tuple[str, ...] = ("de", "en")

    def names(self) -> str:
        return "{ " + ", ".join(f'{code} = "{self.label}"' for code in self.languages) + " }"


HAMBURG = SideSpec(
    installation="de-hamburg",
    label="Hamburg",
    base_model=GERMANY,
    consent_basis="consent_gdpr",
    partner_basis_citation="DSGVO Art. 6 Abs. 1 lit. a",
    closing_reason="moved_away",
    organisation="hafenlicht-hamburg",  # organisation_of_type("ngo_counselling_partner", "DE-HH")
    counsellor="jonas",
)
ROTTERDAM_SIDE = SideSpec(
    installation="nl-rotterdam",
    label="Rotterdam",
    base_model=ROTTERDAM,
    consent_basis="consent_avg",
    partner_basis_citation="AVG art. 6(1)(a)",
    closing_reason="moved",
    organisation="perspectief-rotterdam",  # Stichting Perspectief Rotterdam
    counsellor="femke",
    languages=("nl", "en"),
)


@dataclass
class Side:
    spec: SideSpec
    installation: Installation
    port: int
    public_key: str = ""
    # the counsellor's personal API token, and the agreement's id in this installation
    token: str = ""
    agreement_id: int = 0
    server: Server | None = None
    # the last model file written (base + [federation])
    model_file: Path | None = None
    _prelude: str = field(default="", repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def federation_dir(self) -> Path:
        return Path(self.installation.env["CASEBRIDGE_FEDERATION_DIR"])

    def run(self, *args: str, check: bool = True):
        return self.installation.run(*args, check=check)

    def python(self, code: str) -> str:
        return self.installation.python(code)

    def act(self, code: str):
        """Run ``code`` in this installation with ``agreement``, ``me`` (the counsellor),
        ``services``, ``selectors`` and the federation and case models at hand; the code
        sets ``result``, returned here through JSON."""
        out = self.python(PRELUDE % (AGREEMENT, self.spec.counsellor) + code + EPILOGUE)
        return json.loads(out.strip().splitlines()[-1])

    def api(self, path: str, payload: dict | None = None):
        """GET (or POST ``payload``) /api/v1/federation``path`` with the counsellor's token;
        return the status and the parsed answer."""
        if payload is not None:
            status, body = api_post(self.url, "/api/v1/federation" + path, self.token, payload)
            return status, (json.loads(body) if isinstance(body, str) else body)
        status, raw = api_fetch(self.url, "/api/v1/federation" + path, self.token)
        return status, json.loads(raw)

    def start(self, workers: int = 2) -> Server:
        self.server = Server.start(self.installation, workers=workers, port=self.port)
        return self.server

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def signing_key(self):
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        return load_pem_private_key(
            (self.federation_dir / "signing-key.pem").read_bytes(), password=None
        )

    def messages(self) -> list[dict]:
        """This side's Message rows (without their copies), oldest first."""
        return self.act(
            "result = list(Message.objects.order_by('created_at', 'pk').values("
            "'direction', 'type', 'status', 'refusal_code', 'hash', 'answer_hash', "
            "'message_id', 'thread', 'partner', 'categories'))\n"
        )

    def audit(self, action: str) -> list[dict]:
        """Details of this side's audit events of ``action``, in chain order."""
        return self.act(
            "from casebridge.audit.models import AuditEvent\n"
            f"result = [e.details for e in AuditEvent.objects.filter(action={action!r})"
            ".order_by('pk')]\n"
        )


PRELUDE = """
import json
from casebridge.accounts.models import User
from casebridge.cases.models import Case, Entry
from casebridge.federation import selectors, services
from casebridge.federation.models import Agreement, CrossHandover, Message
from casebridge.network.models import Organisation
agreement = Agreement.objects.get(code=%r)
me = User.objects.get(username=%r)
result = None
"""
EPILOGUE = "\nprint(json.dumps(result, default=str))\n"


def federation_table(me: Side, partner: Side) -> str:
    """The ``[federation]`` table of ``me``'s model file: one agreement with ``partner``."""

    def terms(direction: str, own_basis: str, partner_citation: str) -> str:
        entries = [
            ("handover", CATEGORIES, 'receiving_sector = "counselling_ngo"\n'),
            ("consultation", [], ""),
            ("match", [], ""),
        ]
        return "".join(
            f"\n[[federation.agreements.{direction}]]\n"
            f'purpose = "{purpose}"\n'
            f"categories = {json.dumps(categories)}\n"
            f'legal_basis = "{own_basis}"\n'
            f'partner_legal_basis = "{partner_citation}"\n' + extra
            for purpose, categories, extra in entries
        )

    basis = me.spec.consent_basis
    citation = partner.spec.partner_basis_citation
    return f"""

[federation]
installation = "{me.spec.installation}"
name = {me.spec.names()}

[[federation.agreements]]
code = "{AGREEMENT}"
version = "2026.1"
partner = "{partner.spec.installation}"
partner_name = {partner.spec.names()}
address = "{partner.url}/"
public_key = "{partner.public_key}"
valid_from = 2026-01-01
copies_kept_days = 90
closing_reason = "{me.spec.closing_reason}"
organisations = ["{me.spec.organisation}"]
{terms("send", basis, citation)}{terms("receive", basis, citation)}"""


def model_text(side: Side, partner: Side) -> str:
    return side.spec.base_model.read_text(encoding="utf-8") + federation_table(side, partner)


def write_model(side: Side, partner: Side) -> Path:
    """The side's model file beside the files its base model names (the postcode file)."""
    folder = side.installation.root / "model"
    folder.mkdir(exist_ok=True)
    base = side.spec.base_model
    named = tomllib.loads(base.read_text(encoding="utf-8")).get("model", {})
    for key in ("postcode_file",):
        if named.get(key):
            shutil.copyfile(base.parent / named[key], folder / named[key])
    path = folder / base.name
    path.write_text(model_text(side, partner), encoding="utf-8")
    side.model_file = path
    return path


USERS = """
from casebridge.accounts.models import Membership, Role, User
from casebridge.network.models import Organisation
organisation = Organisation.objects.get(code={organisation!r})
user = User.objects.create_user(
    username={username!r}, password={password!r}, first_name={first!r}, last_name="Federation",
    email="{username}@example.org", language="en",
)
Membership.objects.create(user=user, organisation=organisation, role=Role.PARTNER_COUNSELLOR)
print(organisation.name)
"""


def _prepare(side: Side) -> None:
    side.run("migrate", "--no-input")
    output = side.run("federation", "init").stdout
    side.public_key = re.search(r'public_key = "([^"]+)"', output).group(1)


def _load(side: Side, partner: Side, match_key: str) -> None:
    side.run("model", "load", str(write_model(side, partner)))
    side.run("federation", "match-key", AGREEMENT, "--set", match_key)
    side.python(
        USERS.format(
            organisation=side.spec.organisation,
            username=side.spec.counsellor,
            password=PASSWORD,
            first=side.spec.counsellor.capitalize(),
        )
    )
    side.token = side.installation.api_token(side.spec.counsellor)
    side.agreement_id = int(
        side.python(
            "from casebridge.federation.models import Agreement\n"
            f"print(Agreement.objects.get(code={AGREEMENT!r}).pk)\n"
        )
    )


@dataclass
class Pair:
    a: Side
    b: Side
    match_key: str

    def sides(self) -> tuple[Side, Side]:
        return self.a, self.b


@contextlib.contextmanager
def federated_pair(root: Path, *, postgres: bool = False, start: bool = True, workers: int = 2):
    """Hamburg (A) and Rotterdam (B) set up, federated and (with ``start``) served; every
    server stopped and every database dropped afterwards."""
    with contextlib.ExitStack() as stack:
        urls = [stack.enter_context(postgres_database())[0] if postgres else None for _side in "ab"]
        sides = []
        for name, spec, url in zip("ab", (HAMBURG, ROTTERDAM_SIDE), urls, strict=True):
            installation = Installation(root=root / name, database_url=url)
            installation.env["CASEBRIDGE_FEDERATION_DIR"] = str(
                installation.keys_dir / "federation"
            )
            sides.append(Side(spec=spec, installation=installation, port=free_port()))
        a, b = sides
        stack.callback(a.stop)
        stack.callback(b.stop)
        match_key = base64.b64encode(secrets.token_bytes(32)).decode("ascii")
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(_prepare, sides))
            list(pool.map(lambda pair: _load(*pair, match_key), [(a, b), (b, a)]))
        if start:
            with ThreadPoolExecutor(2) as pool:
                list(pool.map(lambda side: side.start(workers), sides))
        yield Pair(a=a, b=b, match_key=match_key)

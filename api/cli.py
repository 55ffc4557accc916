"""The service's commands in the `volmatch` command line (entry point `volmatch.commands`):

volmatch admin create-org --name N --kind K     # prints the organization and its first key
volmatch admin create-key --org-id ID           # another key (shown once)
volmatch admin revoke-key --org-id ID --key-id K
volmatch admin create-user --org-id ID --login L --name N [--role R] [--password-stdin]
volmatch admin purge-inactive [--days N]        # erase volunteers inactive that long (retention)
volmatch serve [--host H] [--port P] [--no-worker]
volmatch worker [--once]                        # a solving process on its own
volmatch dispatcher [--once]                    # delivers the outbox (reminders, no-shows too)
volmatch demo                                   # demo organizations, keys and a demo week
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import Any

from api.db import make_engine, make_sessionmaker, migrate, transaction
from api.errors import ApiError
from api.models import OrgKind, TokenPurpose, UserRole
from api.repositories import organizations as org_repo
from api.services import erasure, organizations, users
from api.services.audit import Actor
from api.settings import Settings

EXIT_OK, EXIT_FAILED = 0, 1
CLI = Actor.system("cli")


def register(commands: Any) -> None:
    """Add the service's command groups to `volmatch`."""
    admin = commands.add_parser("admin", help="manage organizations and API keys")
    admin_commands = admin.add_subparsers(title="admin commands", metavar="COMMAND")

    p = admin_commands.add_parser(
        "create-org", help="create an organization and print its first key"
    )
    p.add_argument("--name", required=True)
    p.add_argument("--kind", required=True, choices=[k.value for k in OrgKind])
    p.add_argument("--timezone", help="IANA zone (default VOLMATCH_DEFAULT_TIMEZONE)")
    p.set_defaults(run=_create_org)

    p = admin_commands.add_parser("create-key", help="issue another key for an organization")
    p.add_argument("--org-id", type=int, required=True)
    p.add_argument("--label")
    p.set_defaults(run=_create_key)

    p = admin_commands.add_parser("revoke-key", help="revoke a key at once")
    p.add_argument("--org-id", type=int, required=True)
    p.add_argument("--key-id", type=int, required=True)
    p.set_defaults(run=_revoke_key)

    p = admin_commands.add_parser(
        "create-user",
        help="create a console user of an organization; prints an invitation link (or takes a "
        "password from standard input)",
    )
    p.add_argument("--org-id", type=int, required=True)
    p.add_argument("--login", required=True)
    p.add_argument("--name", default="", help="display name (default the login)")
    p.add_argument("--role", choices=[r.value for r in UserRole], default=UserRole.COORDINATOR)
    p.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from standard input instead of printing an invitation link",
    )
    p.add_argument("--base-url", default="http://127.0.0.1:8000", help="for the invitation link")
    p.set_defaults(run=_create_user)

    p = admin_commands.add_parser(
        "purge-inactive",
        help="erase the personal data of volunteers without activity for the retention period "
        "(completed hours stay, under pseudonymous ids)",
    )
    p.add_argument(
        "--days",
        type=int,
        help="inactivity that erases (default VOLMATCH_PERSONAL_DATA_RETENTION_DAYS)",
    )
    p.set_defaults(run=_purge_inactive)

    p = commands.add_parser(
        "serve", help="run the HTTP service (and, by default, its solving process)"
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument(
        "--no-worker", action="store_true", help="solve nowhere: run `volmatch worker` apart"
    )
    p.set_defaults(run=_serve)

    p = commands.add_parser("worker", help="run a solving process (claims queued match runs)")
    p.add_argument("--once", action="store_true", help="solve what is queued, then exit")
    p.set_defaults(run=_worker)

    p = commands.add_parser(
        "dispatcher", help="deliver the outbox's messages (and write reminders and no-shows)"
    )
    p.add_argument("--once", action="store_true", help="deliver what is due, then exit")
    p.set_defaults(run=_dispatcher)

    p = commands.add_parser("demo", help="create demo organizations with keys and load a demo week")
    p.add_argument("--volunteers", type=int, default=400)
    p.add_argument("--requests", type=int, default=60)
    p.add_argument("--base-url", default="http://127.0.0.1:8000")
    p.add_argument("--json", action="store_true", help="print keys and ids as JSON")
    p.set_defaults(run=_demo)


def _sessions(settings: Settings) -> Any:
    engine = make_engine(settings.database_url)
    migrate(engine)
    return make_sessionmaker(engine)


def _create_org(args: argparse.Namespace) -> int:
    settings = Settings()
    try:
        with transaction(_sessions(settings)) as session:
            org, key, secret = organizations.create_organization(
                session,
                args.name,
                args.kind,
                args.timezone or settings.default_timezone,
                actor=CLI,
            )
            print(f"organization {org.id} ({org.kind}) {org.name}")
            print(f"key {key.id}: {secret}")
            print("The key is shown once: keep it now.", file=sys.stderr)
    except ApiError as exc:
        print(f"volmatch admin create-org: {exc.detail}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _create_key(args: argparse.Namespace) -> int:
    with transaction(_sessions(Settings())) as session:
        org = org_repo.get_organization(session, args.org_id)
        if org is None:
            print(f"volmatch admin create-key: no organization {args.org_id}", file=sys.stderr)
            return EXIT_FAILED
        key, secret = organizations.issue_key(session, org, args.label, actor=CLI)
        print(f"key {key.id}: {secret}")
    return EXIT_OK


def _revoke_key(args: argparse.Namespace) -> int:
    try:
        with transaction(_sessions(Settings())) as session:
            key = organizations.revoke_key(session, args.org_id, args.key_id, actor=CLI)
            print(f"key {key.id} revoked")
    except ApiError as exc:
        print(f"volmatch admin revoke-key: {exc.detail}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _create_user(args: argparse.Namespace) -> int:
    settings = Settings()
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None
    try:
        with transaction(_sessions(settings)) as session:
            user = users.create_user(
                session,
                None,
                args.org_id,
                args.login,
                args.name,
                UserRole(args.role),
                password,
                actor=CLI,
            )
            print(
                f"user {user.id} ({user.role}) {user.login} of organization {user.organization_id}"
            )
            if password is None:
                token = users.issue_link(session, user, TokenPurpose.INVITE, settings, CLI)
                print(f"invitation: {args.base_url.rstrip('/')}/invite/{token}")
                print("The link is shown once and works once.", file=sys.stderr)
    except ApiError as exc:
        print(f"volmatch admin create-user: {exc.detail}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _purge_inactive(args: argparse.Namespace) -> int:
    settings = Settings()
    days = args.days or settings.personal_data_retention_days
    if days is None or days < 1:
        print(
            "volmatch admin purge-inactive: give --days N (N >= 1) or set "
            "VOLMATCH_PERSONAL_DATA_RETENTION_DAYS",
            file=sys.stderr,
        )
        return EXIT_FAILED
    try:
        with transaction(_sessions(settings)) as session:
            erased = erasure.purge_inactive(session, settings, days)
    except ApiError as exc:
        print(f"volmatch admin purge-inactive: {exc.detail}", file=sys.stderr)
        return EXIT_FAILED
    print(f"erased the personal data of {len(erased)} volunteer(s) inactive for {days} days")
    return EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from api.app import create_app

    settings = Settings()
    if args.no_worker:
        settings = settings.model_copy(update={"embedded_worker": False})
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # uvicorn's own access log prints raw paths, and link tokens travel in paths: api.limits
    # logs route templates instead.
    uvicorn.run(
        create_app(settings), host=args.host, port=args.port, log_level="info", access_log=False
    )
    return EXIT_OK


def _worker(args: argparse.Namespace) -> int:
    import signal
    import threading

    from api.worker import Worker, serve_queue

    settings = Settings()
    if args.once:
        Worker(settings, _sessions(settings)).run_until_idle()
        return EXIT_OK
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    _sessions(settings)  # migrations
    serve_queue(settings, stop)
    return EXIT_OK


def _dispatcher(args: argparse.Namespace) -> int:
    import signal
    import threading

    from api.models import utc_now
    from api.notifications import scheduler
    from api.notifications.dispatcher import Dispatcher

    settings = Settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    dispatcher = Dispatcher(settings, _sessions(settings))
    if args.once:
        scheduler.run(dispatcher.sessions, settings, utc_now())
        dispatcher.run_until_idle()
        dispatcher.close()
        return EXIT_OK
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    dispatcher.serve(stop)
    return EXIT_OK


def _demo(args: argparse.Namespace) -> int:
    from api.demo import load_demo, welcome
    from api.services.geocoding import Geocoder

    settings = Settings()
    sessions = _sessions(settings)
    geocoder = Geocoder(settings, sessions)
    with transaction(sessions) as session:
        demo = load_demo(
            session, settings, geocoder, volunteers_n=args.volunteers, requests_n=args.requests
        )
    print(json.dumps(demo, indent=2) if args.json else welcome(demo, args.base_url))
    return EXIT_OK
